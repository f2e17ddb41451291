"""Function domain pieces without HTTP: names, configuration rules, packages, and ``invoke``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from batchyard.config import Settings
from batchyard.functions.code import check_zip, code_dir, prune, unpack
from batchyard.functions.configuration import new_configuration, timestamp
from batchyard.functions.host import FunctionHost
from batchyard.functions.invocation import tail
from batchyard.functions.invoke import invoke
from batchyard.functions.names import FunctionRef, parse_function_name
from batchyard.functions.pool import WorkerPools
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime
from batchyard.store import Store
from tests.functions.support import ROLE, zip_of

REGION, ACCOUNT = "us-east-1", "123456789012"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("fn", FunctionRef("fn")),
        ("fn:$LATEST", FunctionRef("fn", "$LATEST")),
        ("123456789012:function:fn", FunctionRef("fn")),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn", FunctionRef("fn")),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn:prod", FunctionRef("fn", "prod")),
    ],
)
def test_function_name_forms(value: str, expected: FunctionRef) -> None:
    assert parse_function_name(value, REGION, ACCOUNT) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("arn:aws:lambda:eu-west-1:123456789012:function:fn", "ResourceNotFoundException"),
        ("999999999999:function:fn", "ResourceNotFoundException"),
        ("bad name", "InvalidParameterValueException"),
        ("f" * 65, "InvalidParameterValueException"),
    ],
)
def test_function_names_lambda_refuses(value: str, code: str) -> None:
    with pytest.raises(ServiceError) as caught:
        parse_function_name(value, REGION, ACCOUNT)
    assert caught.value.code == code


def test_qualifier_in_name_must_match_the_parameter() -> None:
    assert parse_function_name("fn:$LATEST", REGION, ACCOUNT, "$LATEST").qualifier == "$LATEST"
    with pytest.raises(ServiceError):
        parse_function_name("fn:1", REGION, ACCOUNT, "2")


def test_configuration_defaults() -> None:
    config = new_configuration({"Runtime": "python3.10", "Role": ROLE, "Handler": "a.b"})
    assert (config["Timeout"], config["MemorySize"], config["EphemeralStorage"]) == (
        3, 128, {"Size": 512})
    assert "Environment" not in config


def test_tail_keeps_the_last_bytes_without_splitting_characters() -> None:
    text = "é" * 3000
    kept = tail(text, 4095)
    assert kept == "é" * 2047
    assert tail("short") == "short"


def test_unpack_is_idempotent_and_prune_keeps_current_code(tmp_path: Path) -> None:
    old = check_zip(zip_of({"a.py": "A = 1\n"}))
    new = check_zip(zip_of({"a.py": "A = 2\n", "pkg/b.py": ""}))
    first = unpack(tmp_path, "fn", old.digest, old.zip_bytes)
    assert unpack(tmp_path, "fn", old.digest, old.zip_bytes) == first
    second = unpack(tmp_path, "fn", new.digest, new.zip_bytes)
    unpack(tmp_path, "gone", old.digest, old.zip_bytes)
    assert (second / "pkg" / "b.py").is_file()
    prune(tmp_path, {"fn": {new.digest}})
    assert not first.exists()
    assert second.is_dir()
    assert not code_dir(tmp_path, "gone", old.digest).exists()


def _with_host(tmp_path: Path, body: Callable[[Runtime, FunctionHost], Awaitable[Any]]) -> Any:
    settings = Settings(data_dir=tmp_path)

    async def scenario() -> Any:
        store = Store(settings.resolved_database_url)
        runtime = Runtime(settings=settings, store=store)
        host = runtime.add(FunctionHost(runtime))
        try:
            return await body(runtime, host)
        finally:
            await host.stop()
            store.close()

    return asyncio.run(scenario())


async def _create(host: FunctionHost, name: str, source: str) -> None:
    bundle = check_zip(zip_of({"app.py": source}))
    config = new_configuration({"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"})
    await host.registry.create(name, host.arn(name), config, bundle, {}, timestamp())


def test_invoke_entry_point_for_other_services(tmp_path: Path) -> None:
    async def body(runtime: Runtime, host: FunctionHost) -> None:
        await _create(host, "double", """
def handler(event, context):
    print("doubling", event["x"])
    if event["x"] < 0:
        raise ArithmeticError("negative")
    return {"y": 2 * event["x"]}
""")
        ok = await invoke(runtime, host.arn("double"), b'{"x": 4}')
        assert (ok.status, json.loads(ok.payload), ok.function_error) == (200, {"y": 8}, None)
        assert "doubling 4" in ok.log_tail
        failed = await invoke(runtime, "double", b'{"x": -1}')
        assert failed.function_error == "Unhandled"
        assert json.loads(failed.payload)["errorType"] == "ArithmeticError"
        queued = await invoke(runtime, "double", b'{"x": 1}', "Event")
        assert (queued.status, queued.payload) == (202, b"")
        with pytest.raises(ServiceError) as caught:
            await invoke(runtime, "absent", b"{}")
        assert caught.value.code == "ResourceNotFoundException"

    _with_host(tmp_path, body)


def test_the_pool_bound_serialises_invocations_on_one_worker(tmp_path: Path) -> None:
    async def body(runtime: Runtime, host: FunctionHost) -> list[Any]:
        host.pools = WorkerPools(size=1)
        await _create(host, "counter", """
import os
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    return [os.getpid(), COUNT]
""")
        results = await asyncio.gather(*(invoke(runtime, "counter", b"{}") for _ in range(3)))
        return [json.loads(r.payload) for r in results]

    answers = _with_host(tmp_path, body)
    assert len({pid for pid, _ in answers}) == 1
    assert sorted(count for _, count in answers) == [1, 2, 3]
