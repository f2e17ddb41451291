"""Settings: built-in defaults, overridden by ``batchyard.toml``, overridden by ``BATCHYARD_*``.

API credentials come from ``[[credentials]]`` tables, in ``batchyard.toml`` or in the file
``credentials_file`` names (``BATCHYARD_CREDENTIALS_FILE``); with none the server is in
development mode.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_FILE_ENV = "BATCHYARD_CONFIG"
DEFAULT_CONFIG_FILE = "batchyard.toml"

# AWS access key ids are 16 to 128 word characters; account ids are 12 digits.
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_]{3,128}")
_ACCOUNT_ID = re.compile(r"\d{12}")
# An address the Docker SDK connects to: a Unix socket path or a host and port.
_ENGINE_ADDRESS = re.compile(r"unix:///\S+|(tcp|https?)://[^/\s]+")


@dataclass(frozen=True, slots=True)
class Credential:
    """One access key the server accepts, and the account whose requests it signs."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    account_id: str
    # A session token the requests must carry with this key (temporary credentials); none
    # for a long-term key, and then a request carrying one is refused, as AWS refuses it.
    session_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know about where it runs and what it pretends to be."""

    host: str = "127.0.0.1"
    port: int = 4580
    data_dir: Path = field(default_factory=lambda: Path(".batchyard"))
    database_url: str = ""
    # The region and account of requests that do not name them (development mode only: an
    # unsigned request, or an access key id that is not a 12-digit account id).
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
    # A TOML file of [[credentials]] tables, read besides those in batchyard.toml.
    credentials_file: str = ""
    # The bearer token a /metrics scrape must send; empty: /metrics answers unauthenticated
    # on a loopback listener only (Prometheus cannot sign SigV4).
    metrics_token: str = field(default="", repr=False)
    # The access keys requests must be signed with; none: development mode (loopback only).
    credentials: tuple[Credential, ...] = ()
    # Host names requests may give besides the server's own (any IP address, localhost and
    # *.localhost, the listen name, host.containers.internal, host.docker.internal); a port
    # given with a name is ignored.
    server_names: tuple[str, ...] = ()
    # Web origins (``https://console.example:8443``) whose pages may call the APIs; CORS
    # headers are sent to these only. Any other Origin is refused.
    allowed_origins: tuple[str, ...] = ()
    # Seconds a client has to send a request's headers, and then its body.
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    # Seconds an idle keep-alive connection stays open.
    keep_alive_timeout: int = 5
    # Open connections beyond this many are answered 503 and closed.
    max_connections: int = 512
    # Longest request target (path and query) and largest header block, in bytes.
    max_url_length: int = 16 * 1024
    max_header_bytes: int = 64 * 1024
    # A server running as root runs attempts and Lambda workers in this user's group, each
    # under a uid of its own (see batchyard.compute.identity); created when missing.
    job_user: str = "batchyard-jobs"

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

    # --- Ray (issue 16): clusters jobs run on ---
    # Ray clusters (issue 16): the default cluster's GCS address (``BATCHYARD_RAY_ADDRESS``,
    # e.g. ``10.0.0.5:6379``) and named ones, a ``[batchyard.ray_clusters]`` table of
    # name = address in batchyard.toml (``BATCHYARD_RAY_CLUSTERS="a=host:6379,b=host:6379"``).
    ray_address: str = ""
    ray_clusters: dict[str, str] = field(default_factory=dict)
    # Whether attempts on Ray run their images: "none" (the command runs on the node, the
    # image is not run), "auto" (each node's DOCKER_HOST, then Docker's and Podman's standard
    # sockets) or the Docker Engine API address on every node (unix:///run/podman/podman.sock).
    # The container pull policy and EFS directory apply on the nodes too.
    ray_container_engine: str = "none"
    # This server's address as the Ray nodes reach it (http://10.0.0.5:4580), given to
    # attempts on Ray with their account's keys; empty: the listen address when it is a
    # specific one, the loopback one for a cluster on this machine's loopback, else none.
    ray_endpoint_url: str = ""

    # --- EventBridge ---
    # Whether API destinations may reach loopback and private addresses (this host, its
    # database, the local network): "auto" (only in development mode, where every caller is
    # on this machine already), "true" or "false".
    api_destinations_private: str = "auto"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'batchyard.db').resolve()}"

    @property
    def work_dir(self) -> Path:
        """Where attempts' working directories and Lambda code live: beside the data directory,
        which is private to the server, so that jobs can reach these and nothing else."""
        data_dir = self.data_dir.resolve()
        return data_dir.with_name(f"{data_dir.name}-work")

    @property
    def resolved_secrets_file(self) -> Path:
        """The local secrets file, defaulting to ``secrets.json`` in the data directory."""
        return Path(self.secrets_file) if self.secrets_file else self.data_dir / "secrets.json"

    @property
    def development_mode(self) -> bool:
        """No credentials configured: any access key is accepted (on a loopback listener)."""
        return not self.credentials

    @property
    def private_destinations(self) -> bool:
        """Whether API destinations may reach loopback and private addresses."""
        if self.api_destinations_private == "auto":
            return self.development_mode
        return self.api_destinations_private == "true"


_KINDS = {f.name: str(f.type) for f in fields(Settings)}
PULL_POLICIES = ("missing", "always", "never")
PRIVATE_DESTINATIONS = ("auto", "true", "false")
# Set only from [[credentials]] tables, never from one value.
_TABLES = {"credentials"}


def _coerce(name: str, value: Any) -> Any:
    kind = _KINDS[name]
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "Path":
        return Path(value)
    if kind == "tuple[str, ...]":
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if kind == "dict[str, str]":
        return _string_table(name, value)
    return str(value)


def _credentials(tables: Any, source: Path) -> list[Credential]:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{source}: credentials must be [[credentials]] tables")
    found = []
    for number, table in enumerate(tables, 1):
        where = f"{source}: credentials #{number}"
        unknown = set(table) - {"access_key_id", "secret_access_key", "account_id",
                                "session_token"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        values = {k: str(v) for k, v in table.items()}
        missing = {"access_key_id", "secret_access_key", "account_id"} - set(values)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        if not _ACCESS_KEY_ID.fullmatch(values["access_key_id"]):
            raise ValueError(f"{where}: access_key_id must be 3 to 128 letters, digits or _")
        if not values["secret_access_key"]:
            raise ValueError(f"{where}: secret_access_key must not be empty")
        if not _ACCOUNT_ID.fullmatch(values["account_id"]):
            raise ValueError(f"{where}: account_id must be 12 digits")
        found.append(Credential(**values))
    return found


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_settings(
    environ: dict[str, str] | None = None, config_file: Path | None = None, **overrides: Any
) -> Settings:
    """Build settings from defaults < TOML file < environment < explicit keyword overrides.

    The TOML file is ``$BATCHYARD_CONFIG`` if set, else ``./batchyard.toml`` when it exists.
    Unknown keys in the file are rejected so that a typo does not silently do nothing.
    ``[[credentials]]`` tables come from that file and from ``credentials_file``; an access
    key id given twice is an error.
    """
    environ = dict(os.environ if environ is None else environ)
    known = set(_KINDS)
    values: dict[str, Any] = {}
    credentials: list[Credential] = []

    path = config_file or Path(environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
    if path.is_file():
        document = _read_toml(path)
        section = dict(document.get("batchyard", document))
        tables = section.pop("credentials", None) or document.get("credentials")
        if tables is not None:
            credentials += _credentials(tables, path)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: _coerce(k, v) for k, v in section.items()})

    for name in known - _TABLES:
        env_value = environ.get(f"BATCHYARD_{name.upper()}")
        if env_value is not None and env_value != "":
            values[name] = _coerce(name, env_value)

    values.update({k: v for k, v in overrides.items() if v is not None})
    credentials_file = values.get("credentials_file")
    if credentials_file:
        source = Path(credentials_file)
        if not source.is_file():
            raise ValueError(f"credentials file {source} does not exist")
        credentials += _credentials(_read_toml(source).get("credentials", []), source)
    seen: set[str] = set()
    for credential in credentials:
        if credential.access_key_id in seen:
            raise ValueError(f"access key id {credential.access_key_id} is configured twice")
        seen.add(credential.access_key_id)
    if credentials and "credentials" not in overrides:
        values["credentials"] = tuple(credentials)
    settings = replace(Settings(), **values)
    if settings.container_pull_policy not in PULL_POLICIES:
        raise ValueError(
            f"container_pull_policy must be one of {', '.join(PULL_POLICIES)}, "
            f"not {settings.container_pull_policy!r}"
        )
    if settings.api_destinations_private not in PRIVATE_DESTINATIONS:
        raise ValueError(
            f"api_destinations_private must be one of {', '.join(PRIVATE_DESTINATIONS)}, "
            f"not {settings.api_destinations_private!r}"
        )
    engine = settings.ray_container_engine.strip()
    if engine.lower() in ("none", "auto"):
        engine = engine.lower()
    elif not _ENGINE_ADDRESS.fullmatch(engine):
        # Checked here: the nodes, not this server, are where it would first be tried.
        raise ValueError(
            "ray_container_engine must be none, auto or an engine address such as "
            f"unix:///var/run/docker.sock or tcp://host:2375, not {engine!r}"
        )
    return replace(settings, ray_container_engine=engine)


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
