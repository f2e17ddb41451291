"""Accounts and regions: each function, with its versions, aliases, code and pending Event
invocations, belongs to one account and region; the same name in two of them is two
functions, and nothing of one is visible from another. Through the facade for accounts (the
server takes the account from the access key only once credentials are configured), through
boto3 for regions; and the migration that gave the stored rows their account and region."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import sqlalchemy as sa
from alembic import command

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.functions import InvocationType, Lambda
from batchyard.functions.code import check_zip
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.functions.support import ROLE, unique, zip_of
from tests.support.server import CLIENT_CONFIG, ServerProcess, wait_for

T = TypeVar("T")

HOME = Caller("111111111111", "us-east-1")
ABROAD = Caller("111111111111", "eu-west-1")
NEIGHBOUR = Caller("222222222222", "us-east-1")
CALLERS = (HOME, ABROAD, NEIGHBOUR)
SETTINGS = {"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"}
WHERE = """
import os
def handler(event, context):
    return [os.environ["AWS_REGION"], context.invoked_function_arn, %r]
"""


class _Output:
    def __init__(self) -> None:
        self.owners: list[tuple[str, str, str]] = []

    async def write_lines(
        self, owner: Caller, group: str, stream: str, lines: Sequence[tuple[int, str]]
    ) -> None:
        self.owners.append((owner.account_id, owner.region, group))


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[Callable[[Callable[[Lambda, _Output],
                                                              Awaitable[T]]], T]]:
    """Run a scenario against a fresh facade on its own store."""
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(data_dir=tmp_path)

    def run(scenario: Callable[[Lambda, _Output], Awaitable[T]]) -> T:
        async def go() -> T:
            output = _Output()
            service = Lambda(store, output, settings)
            await service.start()
            try:
                return await scenario(service, output)
            finally:
                await service.stop()

        return asyncio.run(go())

    yield run
    store.close()


async def _create(service: Lambda, caller: Caller, name: str, tag: str) -> dict[str, Any]:
    return await service.create_function(
        caller, name, SETTINGS, {"ZipFile": zip_of({"app.py": WHERE % tag})}
    )


async def _code(call: Awaitable[object]) -> str:
    try:
        await call
    except ServiceError as error:
        return error.code
    return "no error"


def test_the_same_name_in_two_regions_and_two_accounts_is_three_functions(
    functions: Callable[..., Any],
) -> None:
    async def scenario(service: Lambda, output: _Output) -> None:
        arns = [(await _create(service, c, "fn", c.account_id + c.region))["FunctionArn"]
                for c in CALLERS]
        assert arns == [f"arn:aws:lambda:{c.region}:{c.account_id}:function:fn"
                        for c in CALLERS]
        for caller, arn in zip(CALLERS, arns, strict=True):
            result = await service.invoke(caller, "fn", b"{}")
            assert json.loads(result.payload) == [caller.region, arn,
                                                  caller.account_id + caller.region]
            listed = await service.list_functions(caller)
            assert [f["FunctionArn"] for f in listed["Functions"]] == [arn]
        assert set(output.owners) == {
            (c.account_id, c.region, "/aws/lambda/fn") for c in CALLERS
        }

    functions(scenario)


def test_nothing_of_one_account_or_region_is_visible_from_another(
    functions: Callable[..., Any],
) -> None:
    async def scenario(service: Lambda, _: _Output) -> list[str]:
        arn = (await _create(service, HOME, "mine", "home"))["FunctionArn"]
        await service.publish_version(HOME, "mine")
        await service.create_alias(HOME, "mine", "live", {"FunctionVersion": "1"})
        await service.tag_resource(HOME, arn, {"team": "a"})
        codes = []
        for other in (ABROAD, NEIGHBOUR):
            codes += [
                await _code(service.get_function(other, "mine")),
                await _code(service.get_function(other, arn)),
                await _code(service.invoke(other, arn, b"{}")),
                await _code(service.invoke(other, "mine", b"{}", InvocationType.EVENT)),
                await _code(service.get_alias(other, "mine", "live")),
                await _code(service.list_versions_by_function(other, "mine")),
                await _code(service.tag_resource(other, arn, {"team": "b"})),
                await _code(service.delete_function(other, "mine")),
            ]
            assert (await service.list_functions(other))["Functions"] == []
        # The same name elsewhere is another function, which a delete there leaves alone.
        await _create(service, NEIGHBOUR, "mine", "neighbour")
        await service.delete_function(NEIGHBOUR, "mine")
        assert await service.list_tags(HOME, arn) == {"team": "a"}
        result = await service.invoke(HOME, "mine", b"{}", qualifier="live")
        assert json.loads(result.payload)[2] == "home"
        return codes

    assert set(functions(scenario)) == {"ResourceNotFoundException"}


def _regional(server: ServerProcess, service: str, region: str) -> Any:
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name=region,
        aws_access_key_id="testing", aws_secret_access_key="testing", config=CLIENT_CONFIG,
    )


def test_boto3_clients_of_two_regions_see_two_functions_and_two_logs(
    server: ServerProcess,
) -> None:
    name = unique("regional")
    arns = {}
    for region in ("us-east-1", "eu-west-1"):
        lam = _regional(server, "lambda", region)
        arns[region] = lam.create_function(
            FunctionName=name, Code={"ZipFile": zip_of({"app.py": WHERE % region})}, **SETTINGS
        )["FunctionArn"]
        payload = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
        assert payload == [region, arns[region], region]
    assert ":eu-west-1:" in arns["eu-west-1"] and ":us-east-1:" in arns["us-east-1"]
    east = _regional(server, "lambda", "us-east-1")
    with pytest.raises(east.exceptions.ResourceNotFoundException):
        east.get_function(FunctionName=arns["eu-west-1"])
    listed = [f["FunctionArn"] for f in east.list_functions()["Functions"]]
    assert arns["us-east-1"] in listed and arns["eu-west-1"] not in listed
    # Each invocation's log is in its function's region.
    west_logs = _regional(server, "logs", "eu-west-1")
    streams = wait_for(lambda: west_logs.describe_log_streams(
        logGroupName=f"/aws/lambda/{name}")["logStreams"])
    assert streams
    for region in ("us-east-1", "eu-west-1"):
        _regional(server, "lambda", region).delete_function(FunctionName=name)


_ROWS = """
INSERT INTO lambda_functions (name, arn, config, code, tags, revision_id, last_modified,
    last_version) VALUES (:name, :arn, :config, :code, '{}', 'r1', 't', 1);
INSERT INTO lambda_code (name, digest, zip) VALUES (:name, :digest, :zip);
INSERT INTO lambda_versions (name, version, config, code, zip, revision_id, last_modified)
    VALUES (:name, 1, :config, :code, :zip, 'r2', 't');
INSERT INTO lambda_aliases (name, alias, document, revision_id)
    VALUES (:name, 'live', '{"FunctionVersion": "1"}', 'r3');
INSERT INTO lambda_pending_events (request_id, function_name, payload, accepted, attempts)
    VALUES (:request, :name, :payload, 0, 0);
"""


def test_rows_stored_before_accounts_take_theirs_from_their_functions_arn(
    old_store: str, tmp_path: Path,
) -> None:
    engine = create_store_engine(old_store)
    config = alembic_config()
    zipped = zip_of({"app.py": WHERE % "old"})
    bundle = check_zip(zipped)
    configuration = {**SETTINGS, "Description": "", "Timeout": 3, "MemorySize": 128,
                     "PackageType": "Zip", "Architectures": ["x86_64"],
                     "EphemeralStorage": {"Size": 512}}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "functions@functions_0003")
        for name, arn in (
            ("old", "arn:aws:lambda:eu-west-1:333333333333:function:old"),
            ("plain", "plain"),
        ):
            for statement in _ROWS.split(";")[:-1]:
                connection.execute(sa.text(statement), {
                    "name": name, "arn": arn, "config": json.dumps(configuration),
                    "code": json.dumps(bundle.summary()), "digest": bundle.digest,
                    "zip": zipped, "request": f"req-{name}", "payload": b"{}",
                })
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        tables = ("lambda_functions", "lambda_code", "lambda_versions", "lambda_aliases")
        scopes = {
            table: sorted(tuple(row) for row in connection.execute(
                sa.text(f"SELECT name, account_id, region FROM {table}")
            ))
            for table in tables
        }
        pending = sorted(tuple(row) for row in connection.execute(sa.text(
            "SELECT function_name, account_id, region FROM lambda_pending_events"
        )))
    engine.dispose()
    expected = [("old", "333333333333", "eu-west-1"), ("plain", "123456789012", "us-east-1")]
    assert scopes == dict.fromkeys(tables, expected)
    assert pending == expected

    # The migrated function is whole in its account and region, and its name is free in
    # every other.
    store = Store(old_store)
    owner = Caller("333333333333", "eu-west-1")

    async def scenario() -> tuple[Any, ...]:
        service = Lambda(store, _Output(), Settings(data_dir=tmp_path / "data"))
        try:
            alias = await service.get_alias(owner, "old", "live")
            versions = await service.list_versions_by_function(owner, "old")
            result = await service.invoke(owner, "old", b"{}", qualifier="live")
            again = await _create(service, HOME, "old", "new")
            return (alias["FunctionVersion"], [v["Version"] for v in versions["Versions"]],
                    json.loads(result.payload)[2], again["FunctionArn"])
        finally:
            await service.stop()

    try:
        assert asyncio.run(scenario()) == (
            "1", ["$LATEST", "1"], "old", "arn:aws:lambda:us-east-1:111111111111:function:old"
        )
    finally:
        store.close()


def test_pending_events_replay_in_their_functions_account_and_region(
    tmp_path: Path, open_dir: Path
) -> None:
    """An Event accepted before a stop runs after the next start, in the account and region
    of the function it was sent to; a request id used twice still queues two invocations."""
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(data_dir=tmp_path)
    marker = open_dir
    source = (
        "import os, pathlib\n"
        "def handler(event, context):\n"
        f"    path = pathlib.Path({str(marker)!r}) / context.aws_request_id\n"
        "    path.write_text(os.environ['AWS_REGION'])\n"
    )

    async def accept() -> list[str]:
        service = Lambda(store, _Output(), settings)
        await service.create_function(ABROAD, "later", SETTINGS,
                                      {"ZipFile": zip_of({"app.py": source})})
        # Stopped before the queued invocations get to run: they stay pending.
        caller = Caller(ABROAD.account_id, ABROAD.region, "same-id")
        first = await service.invoke(caller, "later", b"{}", InvocationType.EVENT)
        second = await service.invoke(caller, "later", b"{}", InvocationType.EVENT)
        await service.stop()
        assert not list(marker.iterdir())
        return [first.request_id, second.request_id]

    async def replay(ids: list[str]) -> dict[str, str]:
        service = Lambda(store, _Output(), settings)
        await service.start()
        try:
            async with asyncio.timeout(30):
                while len(list(marker.iterdir())) < len(ids):
                    await asyncio.sleep(0.05)
        finally:
            await service.stop()
        return {path.name: path.read_text() for path in marker.iterdir()}

    try:
        ids = asyncio.run(accept())
        assert ids[0] == "same-id" and ids[1] != "same-id"
        ran = asyncio.run(replay(ids))
    finally:
        store.close()
    assert ran == dict.fromkeys(ids, "eu-west-1")
