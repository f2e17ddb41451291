"""Servers with credentials, and clients that sign as a given key (or not at all)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from tests.support.server import CLIENT_CONFIG, ServerProcess

ALICE = ("AKIDALICE0000000001", "alice-secret-key-of-some-length", "111111111111")
BOB = ("AKIDBOB00000000002", "bob-secret-key-of-some-length", "222222222222")
CONSOLE_ORIGIN = "https://console.example:8443"


def write_credentials(path: Path, *keys: tuple[str, str, str]) -> Path:
    """A credentials file of ``keys`` (access key id, secret, account id)."""
    tables = "".join(
        f'[[credentials]]\naccess_key_id = "{key}"\nsecret_access_key = "{secret}"\n'
        f'account_id = "{account}"\n\n'
        for key, secret, account in keys
    )
    path.write_text(tables)
    return path


def secure_server(directory: Path, **env: str) -> ServerProcess:
    """A started server with Alice's and Bob's keys, one allowed web origin and two more
    names."""
    directory.mkdir(parents=True, exist_ok=True)
    credentials = write_credentials(directory / "credentials.toml", ALICE, BOB)
    return ServerProcess(directory / "data", env={
        "BATCHYARD_CREDENTIALS_FILE": str(credentials),
        "BATCHYARD_ALLOWED_ORIGINS": CONSOLE_ORIGIN,
        "BATCHYARD_SERVER_NAMES": "batchyard.internal, other.example:8443",
        **env,
    }).start()


def client(
    server: ServerProcess,
    service: str,
    key: tuple[str, str, str] | None = ALICE,
    region: str = "us-east-1",
    **config: Any,
) -> Any:
    """A boto3 client of ``service`` signing with ``key`` (unsigned when None)."""
    settings = CLIENT_CONFIG.merge(Config(inject_host_prefix=False, **config))
    if key is None:
        settings = settings.merge(Config(signature_version=UNSIGNED))
        key = ("unused", "unused", "")
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name=region,
        aws_access_key_id=key[0], aws_secret_access_key=key[1], config=settings,
    )


@contextmanager
def clock_off_by(seconds: float) -> Iterator[None]:
    """botocore signs as if its clock were ``seconds`` ahead (behind when negative)."""
    skewed = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=seconds)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        yield
