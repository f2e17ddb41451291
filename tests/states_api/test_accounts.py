"""Accounts and regions: each state machine, activity and execution belongs to one account and
region; the same name in two of them is two resources, and nothing of one is visible from
another. Through the facade for accounts (the server takes the account from the access key
only once credentials are configured), through the facade and boto3 for regions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import sqlalchemy as sa
from alembic import command
from botocore.config import Config
from botocore.exceptions import ClientError

from batchyard.aws.caller import Caller
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import StepFunctions, TaskRequest
from batchyard.store import Store
from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.states_api.conftest import PASS, ROLE, unique
from tests.support.server import CLIENT_CONFIG, ServerProcess

T = TypeVar("T")

HOME = Caller("111111111111", "us-east-1")
ABROAD = Caller("111111111111", "eu-west-1")
NEIGHBOUR = Caller("222222222222", "us-east-1")
TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:echo",
                                         "End": True}}}


@pytest.fixture
def states(tmp_path: Path) -> Iterator[Callable[[Callable[[StepFunctions], Awaitable[T]]], T]]:
    """Run a scenario against a fresh facade on its own store."""
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")

    def run(scenario: Callable[[StepFunctions], Awaitable[T]]) -> T:
        async def go() -> T:
            sfn = StepFunctions(store, Bus())
            await sfn.start()
            try:
                return await scenario(sfn)
            finally:
                await sfn.stop()

        return asyncio.run(go())

    yield run
    store.close()


def _code(call: Awaitable[object]) -> Awaitable[str]:
    async def code() -> str:
        try:
            await call
        except ServiceError as error:
            return error.code
        return "no error"

    return code()


def test_one_name_in_two_regions_and_two_accounts_is_three_machines(states: Any) -> None:
    async def scenario(sfn: StepFunctions) -> None:
        made = {
            caller: (await sfn.create_state_machine(
                caller, "m", json.dumps(PASS), ROLE
            )).state_machine_arn
            for caller in (HOME, ABROAD, NEIGHBOUR)
        }
        assert made == {
            HOME: "arn:aws:states:us-east-1:111111111111:stateMachine:m",
            ABROAD: "arn:aws:states:eu-west-1:111111111111:stateMachine:m",
            NEIGHBOUR: "arn:aws:states:us-east-1:222222222222:stateMachine:m",
        }
        for caller, arn in made.items():
            listed = await sfn.list_state_machines(caller)
            assert [m.arn for m in listed.items] == [arn]
            assert (await sfn.describe_state_machine(caller, arn)).arn == arn
        for other in (ABROAD, NEIGHBOUR):
            assert await _code(sfn.describe_state_machine(other, made[HOME])) == (
                "StateMachineDoesNotExist"
            )
            assert await _code(sfn.start_execution(other, made[HOME])) == (
                "StateMachineDoesNotExist"
            )
            assert await _code(sfn.delete_state_machine(other, made[HOME])) == (
                "StateMachineDoesNotExist"
            )
            assert await _code(sfn.list_tags_for_resource(other, made[HOME])) == (
                "ResourceNotFound"
            )
        assert (await sfn.describe_state_machine(HOME, made[HOME])).name == "m"

    states(scenario)


def test_activities_are_per_account_and_region(states: Any) -> None:
    async def scenario(sfn: StepFunctions) -> None:
        home = (await sfn.create_activity(HOME, "work")).arn
        abroad = (await sfn.create_activity(ABROAD, "work")).arn
        assert home == "arn:aws:states:us-east-1:111111111111:activity:work"
        assert abroad == "arn:aws:states:eu-west-1:111111111111:activity:work"
        assert [a.arn for a in (await sfn.list_activities(ABROAD)).items] == [abroad]
        assert (await sfn.list_activities(NEIGHBOUR)).items == []
        assert await _code(sfn.describe_activity(ABROAD, home)) == "ActivityDoesNotExist"
        assert await _code(sfn.get_activity_task(NEIGHBOUR, home)) == "ActivityDoesNotExist"
        assert await _code(sfn.tag_resource(ABROAD, home, {"k": "v"})) == "ResourceNotFound"

    states(scenario)


def test_an_execution_and_its_tasks_act_in_their_machines_region(states: Any) -> None:
    seen: list[Caller] = []

    class Echo:
        async def invoke(self, request: TaskRequest) -> Any:
            seen.append(request.caller)
            return request.parameters

    async def scenario(sfn: StepFunctions) -> None:
        sfn.register_invoker("arn:aws:states:::test:echo", Echo())
        machine = (await sfn.create_state_machine(
            ABROAD, "m", json.dumps(TASK), ROLE
        )).state_machine_arn
        execution = await sfn.start_execution(ABROAD, machine, "run", '{"a": 1}')
        assert execution.arn == "arn:aws:states:eu-west-1:111111111111:execution:m:run"
        while (await sfn.describe_execution(ABROAD, execution.arn)).status == "RUNNING":
            await asyncio.sleep(0.01)
        assert (await sfn.describe_execution(ABROAD, execution.arn)).status == "SUCCEEDED"
        for other in (HOME, NEIGHBOUR):
            for call in (
                sfn.describe_execution(other, execution.arn),
                sfn.get_execution_history(other, execution.arn),
                sfn.stop_execution(other, execution.arn),
                sfn.describe_state_machine_for_execution(other, execution.arn),
            ):
                assert await _code(call) == "ExecutionDoesNotExist"
            listed = sfn.list_executions(other, state_machine_arn=machine)
            assert await _code(listed) == "StateMachineDoesNotExist"

    states(scenario)
    assert [(c.account_id, c.region) for c in seen] == [("111111111111", "eu-west-1")]


def test_a_task_token_answers_only_in_its_executions_account(states: Any) -> None:
    tokened = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::test:echo.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}, "End": True,
    }}}
    tokens: list[str] = []

    class Hold:
        async def invoke(self, request: TaskRequest) -> Any:
            async def hand_out() -> None:
                tokens.append(request.parameters["token"])

            return await sfn_ref[0].wait_for_task_token(request, hand_out)

    sfn_ref: list[StepFunctions] = []

    async def scenario(sfn: StepFunctions) -> str:
        sfn_ref.append(sfn)
        sfn.register_invoker("arn:aws:states:::test:echo", Hold())
        machine = (await sfn.create_state_machine(
            HOME, "m", json.dumps(tokened), ROLE
        )).state_machine_arn
        execution = await sfn.start_execution(HOME, machine, "run")
        while not tokens:
            await asyncio.sleep(0.01)
        refused = await _code(sfn.send_task_success(NEIGHBOUR, tokens[0], '"x"'))
        await sfn.send_task_success(HOME, tokens[0], '"done"')
        while (described := await sfn.describe_execution(HOME, execution.arn)).status == (
            "RUNNING"
        ):
            await asyncio.sleep(0.01)
        assert described.output == '"done"'
        return refused

    assert states(scenario) == "TaskDoesNotExist"


def test_rows_stored_before_accounts_take_theirs_from_their_arns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(url)
    config = alembic_config()
    machine = "arn:aws:states:eu-west-1:333333333333:stateMachine:old"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "states@states_0003")
        connection.execute(sa.text(
            "INSERT INTO sfn_state_machines (arn, name, type, definition, role_arn, config, "
            "revision_id, next_version, created, updated) VALUES "
            f"('{machine}', 'old', 'STANDARD', :d, 'r', '{{}}', 'x', 1, 0, 0)"
        ), {"d": json.dumps(PASS)})
        connection.execute(sa.text(
            "INSERT INTO sfn_activities (arn, name, created) VALUES "
            "('arn:aws:states:ap-south-1:444444444444:activity:a', 'a', 0)"
        ))
        connection.execute(sa.text(
            "INSERT INTO sfn_executions (arn, machine_arn, name, status, started, input, "
            "source, last_event_id, redrive_count) VALUES "
            f"('arn:aws:states:eu-west-1:333333333333:execution:old:e', '{machine}', 'e', "
            "'SUCCEEDED', 0, '{}', '{}', 0, 0)"
        ))
    engine.dispose()
    store = Store(url)
    scopes = store.read_sync(lambda conn: [
        tuple(row) for table in ("sfn_state_machines", "sfn_activities", "sfn_executions")
        for row in conn.execute(sa.text(f"SELECT name, account_id, region FROM {table}"))
    ])
    assert scopes == [
        ("old", "333333333333", "eu-west-1"), ("a", "444444444444", "ap-south-1"),
        ("e", "333333333333", "eu-west-1"),
    ]
    store.close()


def _regional_client(process: ServerProcess, region: str) -> Any:
    return boto3.client(
        "stepfunctions", endpoint_url=process.endpoint, region_name=region,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=CLIENT_CONFIG.merge(Config(inject_host_prefix=False)),
    )


def test_boto3_clients_of_two_regions_see_two_machines(server: ServerProcess) -> None:
    east, west = _regional_client(server, "us-east-1"), _regional_client(server, "eu-west-1")
    name = unique("regional")
    west_arn = west.create_state_machine(
        name=name, definition=json.dumps(PASS), roleArn=ROLE
    )["stateMachineArn"]
    east_arn = east.create_state_machine(
        name=name, definition=json.dumps(PASS), roleArn=ROLE
    )["stateMachineArn"]
    assert ":eu-west-1:" in west_arn and ":us-east-1:" in east_arn
    west_names = [m["stateMachineArn"] for m in west.list_state_machines()["stateMachines"]]
    assert west_arn in west_names and east_arn not in west_names
    with pytest.raises(ClientError) as error:
        east.describe_state_machine(stateMachineArn=west_arn)
    assert error.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


def test_boto3_executions_and_activities_stay_in_their_region(server: ServerProcess) -> None:
    east, west = _regional_client(server, "us-east-1"), _regional_client(server, "eu-west-1")
    machine = west.create_state_machine(
        name=unique("regional"), definition=json.dumps(PASS), roleArn=ROLE
    )["stateMachineArn"]
    execution = west.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    assert execution.startswith("arn:aws:states:eu-west-1:")
    with pytest.raises(ClientError) as error:
        east.describe_execution(executionArn=execution)
    assert error.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
    name = unique("act")
    arns = {c.meta.region_name: c.create_activity(name=name)["activityArn"] for c in (east, west)}
    assert arns["us-east-1"] != arns["eu-west-1"]
    assert ":eu-west-1:" in arns["eu-west-1"]
    listed = [a["activityArn"] for a in east.list_activities()["activities"]]
    assert arns["us-east-1"] in listed and arns["eu-west-1"] not in listed
