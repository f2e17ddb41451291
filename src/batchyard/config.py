"""Settings: built-in defaults, overridden by ``batchyard.toml``, overridden by ``BATCHYARD_*``."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_FILE_ENV = "BATCHYARD_CONFIG"
DEFAULT_CONFIG_FILE = "batchyard.toml"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know about where it runs and what it pretends to be."""

    host: str = "127.0.0.1"
    port: int = 4580
    data_dir: Path = field(default_factory=lambda: Path(".batchyard"))
    database_url: str = ""
    region: str = "us-east-1"
    account_id: str = "123456789012"
    # Divides every AWS-imposed wait (attempt timeouts, queue time limits, Wait states, rate()
    # schedules) so tests need not sit out AWS's minimums; the API still validates AWS's ranges.
    time_scale: float = 1.0
    # How long SUCCEEDED and FAILED jobs stay describable and listable (AWS: 7 days).
    job_retention_days: float = 7.0
    # Where jobs' ``secrets`` are looked up; empty: secrets.json in the data directory.
    secrets_file: str = ""
    log_level: str = "info"
    # Ray clusters (issue 16): the default cluster's GCS address (``BATCHYARD_RAY_ADDRESS``,
    # e.g. ``10.0.0.5:6379``) and named ones, a ``[batchyard.ray_clusters]`` table of
    # name = address in batchyard.toml (``BATCHYARD_RAY_CLUSTERS="a=host:6379,b=host:6379"``).
    ray_address: str = ""
    ray_clusters: dict[str, str] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'batchyard.db').resolve()}"

    @property
    def resolved_secrets_file(self) -> Path:
        """The local secrets file, defaulting to ``secrets.json`` in the data directory."""
        return Path(self.secrets_file) if self.secrets_file else self.data_dir / "secrets.json"


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("int", int):
        return int(value)
    if kind in ("float", float):
        return float(value)
    if kind in ("Path", Path):
        return Path(value)
    if kind == "dict[str, str]":
        return _string_table(name, value)
    return str(value)


def load_settings(
    environ: dict[str, str] | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    """Build settings from defaults < TOML file < environment < explicit keyword overrides.

    The TOML file is ``$BATCHYARD_CONFIG`` if set, else ``./batchyard.toml`` when it exists.
    Unknown keys in the file are rejected so that a typo does not silently do nothing.
    """
    environ = dict(os.environ if environ is None else environ)
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or Path(environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    if path.is_file():
        with path.open("rb") as fh:
            document = tomllib.load(fh)
        section = document.get("batchyard", document)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: _coerce(k, v) for k, v in section.items()})

    for name in known:
        env_value = environ.get(f"BATCHYARD_{name.upper()}")
        if env_value is not None and env_value != "":
            values[name] = _coerce(name, env_value)

    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)


def _string_table(name: str, value: Any) -> dict[str, str]:
    """A TOML table of strings, or ``a=x,b=y`` from the environment."""
    if isinstance(value, str):
        pairs = [item.partition("=") for item in value.split(",") if item.strip()]
        if any(not sep or not key.strip() for key, sep, _ in pairs):
            raise ValueError(f"{name}: expected name=value pairs separated by commas: {value!r}")
        return {key.strip(): address.strip() for key, _, address in pairs}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name}: expected a table of name = \"value\" strings")
    return dict(value)


def ray_cluster_address(settings: Settings, name: str | None = None) -> str:
    """The address of the Ray cluster called ``name`` (None or "default": the default one).

    Raises ``LookupError`` naming what is configured when there is no such cluster.
    """
    if name in (None, "", "default") and settings.ray_address:
        return settings.ray_address
    if name and name in settings.ray_clusters:
        return settings.ray_clusters[name]
    known = ", ".join(sorted(settings.ray_clusters)) or "none"
    if name in (None, "", "default"):
        raise LookupError(f"no default Ray cluster: set BATCHYARD_RAY_ADDRESS (named: {known})")
    raise LookupError(f"no Ray cluster named {name!r} in the configuration (named: {known})")
