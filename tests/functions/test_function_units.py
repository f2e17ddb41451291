"""Function domain pieces without HTTP: names, configuration rules, packages, and ``invoke``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.functions import InvocationType, Lambda
from batchyard.functions.code import check_zip, code_dir, prune, unpack
from batchyard.functions.configuration import new_configuration
from batchyard.functions.invocation import tail
from batchyard.functions.names import FunctionRef, parse_function_name
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.tables.functions import code
from batchyard.store.tables.functions import functions as functions_table
from tests.functions.support import ROLE, zip_of

REGION, ACCOUNT = "us-east-1", "123456789012"
HOME = Caller(ACCOUNT, REGION)


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
    mine, theirs = "111111111111/us-east-1/fn", "222222222222/us-east-1/fn"
    first = unpack(tmp_path, mine, old.digest, old.zip_bytes)
    assert unpack(tmp_path, mine, old.digest, old.zip_bytes) == first
    second = unpack(tmp_path, mine, new.digest, new.zip_bytes)
    other = unpack(tmp_path, theirs, old.digest, old.zip_bytes)
    unpack(tmp_path, "111111111111/us-east-1/gone", old.digest, old.zip_bytes)
    # A directory of the layout before accounts: <name>/<digest>.
    unpack(tmp_path, "fn", old.digest, old.zip_bytes)
    assert (second / "pkg" / "b.py").is_file()
    prune(tmp_path, {mine: {new.digest}, theirs: {old.digest}})
    assert not first.exists()
    assert second.is_dir()
    assert other.is_dir()
    assert not code_dir(tmp_path, "111111111111/us-east-1/gone", old.digest).exists()
    assert not code_dir(tmp_path, "fn", old.digest).exists()


@pytest.mark.parametrize(
    ("files", "named"),
    [
        ({"d": "x", "d/f": "y"}, "'d' is a file"),
        ({"pkg/d": "x", "pkg/d/e/f.py": "y"}, "'pkg/d' is a file"),
        ({"../../d": "x", "d/f": "y"}, "'../../d' is a file"),
        ({"a" * 256 + ".py": ""}, "longer than 255 bytes"),
        ({"/".join(["p" * 200] * 16) + "/f.py": ""}, "longer than 3072 bytes"),
        ({"..": "x"}, "names no file"),
    ],
)
def test_packages_that_cannot_be_unpacked_are_refused(files: dict[str, str], named: str) -> None:
    with pytest.raises(ServiceError) as caught:
        check_zip(zip_of({**files, "app.py": ""}))
    assert caught.value.code == "InvalidParameterValueException"
    assert caught.value.message.startswith("Could not unzip uploaded file.")
    assert named in caught.value.message


def test_a_directory_entry_and_files_inside_it_unpack(tmp_path: Path) -> None:
    bundle = check_zip(zip_of({"d/": "", "d/f": "y", "./e/../g.py": "", "app.py": ""}))
    folder = unpack(tmp_path, "111111111111/us-east-1/fn", bundle.digest, bundle.zip_bytes)
    assert (folder / "d" / "f").read_text() == "y"


class _Output:
    """The function output port, keeping what it is given."""

    def __init__(self) -> None:
        self.written: list[tuple[Caller, str, str, list[tuple[int, str]]]] = []

    async def write_lines(
        self, owner: Caller, group: str, stream: str, lines: Sequence[tuple[int, str]]
    ) -> None:
        self.written.append((owner, group, stream, list(lines)))


def _with_lambda(tmp_path: Path, body: Callable[[Lambda, _Output], Awaitable[Any]],
                 pool_size: int = 4) -> Any:
    settings = Settings(data_dir=tmp_path)

    async def scenario() -> Any:
        store = Store(settings.resolved_database_url)
        output = _Output()
        functions = Lambda(store, output, settings, pool_size=pool_size)
        try:
            return await body(functions, output)
        finally:
            await functions.stop()
            store.close()

    return asyncio.run(scenario())


async def _create(functions: Lambda, name: str, source: str, caller: Caller = HOME) -> None:
    await functions.create_function(
        caller, name, {"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"},
        {"ZipFile": zip_of({"app.py": source})},
    )


def test_invoke_entry_point_for_other_services(tmp_path: Path) -> None:
    async def body(functions: Lambda, output: _Output) -> None:
        await _create(functions, "double", """
def handler(event, context):
    print("doubling", event["x"])
    if event["x"] < 0:
        raise ArithmeticError("negative")
    return {"y": 2 * event["x"]}
""")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:double"
        ok = await functions.invoke(HOME, arn, b'{"x": 4}')
        assert (ok.status, json.loads(ok.payload), ok.function_error) == (200, {"y": 8}, None)
        assert "doubling 4" in ok.log_tail
        owner, group, _, lines = output.written[-1]
        assert (owner.account_id, owner.region, group) == (ACCOUNT, REGION, "/aws/lambda/double")
        assert any("doubling 4" in line for _, line in lines)
        failed = await functions.invoke(HOME, "double", b'{"x": -1}')
        assert failed.function_error == "Unhandled"
        assert json.loads(failed.payload)["errorType"] == "ArithmeticError"
        queued = await functions.invoke(HOME, "double", b'{"x": 1}', InvocationType.EVENT)
        assert (queued.status, queued.payload) == (202, b"")
        with pytest.raises(ServiceError) as caught:
            await functions.invoke(HOME, "absent", b"{}")
        assert caught.value.code == "ResourceNotFoundException"

    _with_lambda(tmp_path, body)


def test_the_pool_bound_serialises_invocations_on_one_worker(tmp_path: Path) -> None:
    async def body(functions: Lambda, _: _Output) -> list[Any]:
        await _create(functions, "counter", """
import os
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    return [os.getpid(), COUNT]
""")
        results = await asyncio.gather(
            *(functions.invoke(HOME, "counter", b"{}") for _ in range(3))
        )
        return [json.loads(r.payload) for r in results]

    answers = _with_lambda(tmp_path, body, pool_size=1)
    assert len({pid for pid, _ in answers}) == 1
    assert sorted(count for _, count in answers) == [1, 2, 3]


def test_stored_code_that_cannot_be_unpacked_fails_the_invocation_not_the_request(
    tmp_path: Path,
) -> None:
    """A package stored before packages were checked (``d`` both a file and a directory)
    answers every Invoke with the function error Lambda gives code it cannot start."""
    settings = Settings(data_dir=tmp_path)
    unusable = zip_of({"d": "x", "d/f": "y", "app.py": "def handler(event, context):\n    pass\n"})

    async def scenario() -> list[Any]:
        store = Store(settings.resolved_database_url)
        functions = Lambda(store, _Output(), settings)
        try:
            await _create(functions, "stale", "def handler(event, context):\n    return 1\n")
            await store.write(lambda connection: connection.execute(
                code.update().values(digest="0" * 64, zip=unusable)
            ))
            await store.write(lambda connection: connection.execute(
                functions_table.update().values(
                    code={"sha256": "x", "digest": "0" * 64, "size": len(unusable)}
                )
            ))
            answers = []
            for _ in range(2):
                result = await functions.invoke(HOME, "stale", b"{}")
                answers.append((result.status, result.function_error,
                                json.loads(result.payload)["errorType"]))
            return answers
        finally:
            await functions.stop()
            store.close()

    assert asyncio.run(scenario()) == [(200, "Unhandled", "Runtime.InvalidEntrypoint")] * 2
