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

    # --- Containers (issue 15): where jobs run in their images ---
    # The Docker Engine API jobs run on: a socket URL (unix:///run/podman/podman.sock,
    # tcp://host:2375), "auto" (the first of Docker's and Podman's standard sockets that
    # answers; local processes when none does) or "none" (always local processes).
    container_engine: str = "auto"
    # When a job's image is pulled: "missing" (only when the engine lacks it), "always",
    # "never" (a missing image fails the attempt with CannotPullContainerError).
    container_pull_policy: str = "missing"
    # The engine network jobs join; empty: the engine's default (Docker's bridge, Podman's
    # podman). Jobs reach this server through a relay on its gateway address.
    container_network: str = ""
    # The host directory holding EFS file systems as <root>/<fileSystemId>; empty: a job
    # with an EFS volume cannot start.
    container_efs_root: str = ""

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
