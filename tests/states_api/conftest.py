"""Fixtures for the Step Functions API tests: clients on the shared server and a fast one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.server import CLIENT_CONFIG, ServerProcess

ROLE = "arn:aws:iam::123456789012:role/states-test"


def unique(prefix: str) -> str:
    """A resource name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def machine(sfn: Any, definition: dict[str, Any], kind: str = "STANDARD", **extra: Any) -> str:
    """Create a state machine with a unique name; returns its ARN."""
    return sfn.create_state_machine(
        name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE, type=kind, **extra
    )["stateMachineArn"]


PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def client(process: ServerProcess) -> Any:
    """A Step Functions client on ``process``.

    botocore sends StartSyncExecution to ``sync-<endpoint host>``; a local endpoint has no
    such host, so the prefix is switched off.
    """
    return boto3.client(
        "stepfunctions", endpoint_url=process.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=CLIENT_CONFIG.merge(Config(inject_host_prefix=False)),
    )


@pytest.fixture(scope="session")
def sfn(server: ServerProcess) -> Any:
    """A boto3 Step Functions client on the shared server."""
    return client(server)


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own whose Wait states run 100 times faster."""
    directory: Path = tmp_path_factory.mktemp("states-fast")
    process = ServerProcess(directory, env={"BATCHYARD_TIME_SCALE": "100"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def fast_sfn(fast_server: ServerProcess) -> Any:
    """A Step Functions client on :func:`fast_server`."""
    return client(fast_server)
