"""Reserved concurrency over boto3: Put/Get/DeleteFunctionConcurrency and their errors, the
account's unreserved minimum, and its enforcement on synchronous and Event invocations."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functions.support import call, create
from tests.support.server import CLIENT_CONFIG, ServerProcess, wait_for

# Writes ``started`` when it begins, then waits for ``release`` (if given) before it returns;
# an Event's side effect is the file ``write``.
BLOCKING = """
    import json
    import os
    import time

    def handler(event, context):
        if event.get("started"):
            open(event["started"], "w").close()
        while event.get("release") and not os.path.exists(event["release"]):
            time.sleep(0.02)
        if event.get("write"):
            with open(event["write"], "w") as out:
                out.write(json.dumps(event))
        return "done"
"""


def _client(server: ServerProcess, key: str = "testing", config: Config = CLIENT_CONFIG
            ) -> Any:
    return boto3.client(
        "lambda", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key="testing", config=config,
    )


def _account_client(server: ServerProcess) -> Any:
    """A Lambda client in an account of its own (a 12-digit key is its account in
    development mode), so that reservations made elsewhere do not count here."""
    return _client(server, key=str(random.randrange(10**11, 10**12)))


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = caught.value.response
    return (response["Error"]["Code"], response["Error"]["Message"],
            response["ResponseMetadata"]["HTTPStatusCode"])


def _invoke_in_background(executor: ThreadPoolExecutor, lam: Any, name: str,
                          event: dict[str, Any]) -> Future[Any]:
    return executor.submit(call, lam, name, event)


def test_put_get_and_delete_round_trip(lam: Any) -> None:
    name = create(lam, BLOCKING)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)

    put = lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    assert put["ReservedConcurrentExecutions"] == 3
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert lam.get_function(FunctionName=name)["Concurrency"] == {
        "ReservedConcurrentExecutions": 3
    }

    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    lam.put_function_concurrency(FunctionName=arn, ReservedConcurrentExecutions=0)
    assert lam.get_function_concurrency(FunctionName=arn)["ReservedConcurrentExecutions"] == 0

    deleted = lam.delete_function_concurrency(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)


def test_concurrency_of_a_missing_function_is_not_found(lam: Any) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:no-such-function"
    for attempt in (
        lambda: lam.put_function_concurrency(FunctionName="no-such-function",
                                             ReservedConcurrentExecutions=1),
        # Missing comes before too large.
        lambda: lam.put_function_concurrency(FunctionName="no-such-function",
                                             ReservedConcurrentExecutions=5000),
        lambda: lam.get_function_concurrency(FunctionName="no-such-function"),
        lambda: lam.delete_function_concurrency(FunctionName="no-such-function"),
    ):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _error(caught) == ("ResourceNotFoundException", f"Function not found: {arn}", 404)


def test_invalid_reservations_are_refused(lam: Any, server: ServerProcess) -> None:
    name = create(lam, BLOCKING)
    # What boto3 would refuse before sending, sent anyway: the server checks it too.
    unchecked = _client(server, config=CLIENT_CONFIG.merge(Config(parameter_validation=False)))
    with pytest.raises(ClientError) as caught:
        unchecked.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=-1)
    code, message, status = _error(caught)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "greater than or equal to 0" in message
    with pytest.raises(ClientError) as caught:
        lam.put_function_concurrency(FunctionName=f"{name}:$LATEST",
                                     ReservedConcurrentExecutions=1)
    assert _error(caught)[0] == "InvalidParameterValueException"
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=name)


def test_the_account_keeps_100_unreserved(server: ServerProcess) -> None:
    lam = _account_client(server)
    first, second = create(lam, BLOCKING), create(lam, BLOCKING)
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == 1000
    assert limit["UnreservedConcurrentExecutions"] == 1000

    lam.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=600)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 400
    with pytest.raises(ClientError) as caught:
        lam.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=301)
    assert _error(caught) == (
        "InvalidParameterValueException",
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].",
        400,
    )
    lam.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=300)
    # Changing a reservation counts it once, not on top of itself.
    lam.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=600)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    lam.delete_function_concurrency(FunctionName=first)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 700
    assert lam.get_account_settings()["AccountUsage"]["FunctionCount"] == 2


def test_a_synchronous_invoke_beyond_the_reservation_is_throttled(
    lam: Any, open_dir: Path
) -> None:
    name = create(lam, BLOCKING, Timeout=60)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    started, release = open_dir / "started", open_dir / "release"
    with ThreadPoolExecutor(1) as executor:
        first = _invoke_in_background(executor, lam, name,
                                      {"started": str(started), "release": str(release)})
        wait_for(started.exists, timeout=30, what="the first invocation to start")
        with pytest.raises(ClientError) as caught:
            call(lam, name, {})
        assert _error(caught) == ("TooManyRequestsException", "Rate Exceeded.", 429)
        assert caught.value.response["Reason"] == \
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert caught.value.response["Type"] == "User"
        release.touch()
        assert first.result(timeout=30)[1] == "done"
    assert call(lam, name, {})[1] == "done"


def test_the_reservation_spans_versions_and_aliases(lam: Any, open_dir: Path) -> None:
    name = create(lam, BLOCKING, Timeout=60)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    started, release = open_dir / "started", open_dir / "release"
    with ThreadPoolExecutor(1) as executor:
        first = _invoke_in_background(executor, lam, f"{name}:live",
                                      {"started": str(started), "release": str(release)})
        wait_for(started.exists, timeout=30, what="the aliased invocation to start")
        for qualifier in ("$LATEST", version):
            with pytest.raises(ClientError) as caught:
                call(lam, name, {}, Qualifier=qualifier)
            assert _error(caught)[0] == "TooManyRequestsException"
        release.touch()
        assert first.result(timeout=30)[1] == "done"


def test_an_event_beyond_the_reservation_runs_once_there_is_room(
    lam: Any, open_dir: Path
) -> None:
    name = create(lam, BLOCKING, Timeout=60)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    started, release, written = open_dir / "started", open_dir / "release", open_dir / "event"
    with ThreadPoolExecutor(1) as executor:
        first = _invoke_in_background(executor, lam, name,
                                      {"started": str(started), "release": str(release)})
        wait_for(started.exists, timeout=30, what="the first invocation to start")
        accepted = lam.invoke(FunctionName=name, InvocationType="Event",
                              Payload=json.dumps({"write": str(written), "tag": "queued"}))
        assert accepted["StatusCode"] == 202
        # The one slot is taken until the first invocation is released.
        assert not written.exists()
        release.touch()
        assert first.result(timeout=30)[1] == "done"
    body = wait_for(lambda: written.exists() and written.read_text(), timeout=30,
                    what="the queued Event's side effect")
    assert json.loads(body)["tag"] == "queued"


def test_a_reservation_of_zero_throttles_everything_until_it_is_lifted(
    lam: Any, open_dir: Path
) -> None:
    name = create(lam, BLOCKING)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        call(lam, name, {})
    assert _error(caught)[:2] == ("TooManyRequestsException", "Rate Exceeded.")
    written = open_dir / "event"
    accepted = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"write": str(written)}))
    assert accepted["StatusCode"] == 202
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert not written.exists()
    # Throttled Events are kept, not dropped: lifting the reservation runs this one.
    lam.delete_function_concurrency(FunctionName=name)
    wait_for(written.exists, timeout=30, what="the throttled Event to run")
    assert call(lam, name, {})[1] == "done"


def test_an_event_throttled_past_the_event_age_is_dropped(
    new_server: Callable[..., ServerProcess], open_dir: Path
) -> None:
    # The time scale turns Lambda's six hours into one second.
    server = new_server(env={"BATCHYARD_TIME_SCALE": "21600"})
    lam = server.client("lambda")
    name = create(lam, BLOCKING)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    written = open_dir / "event"
    accepted = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"write": str(written)}))
    request_id = accepted["ResponseMetadata"]["RequestId"]
    wait_for(lambda: f"Event invocation {request_id} of {name} dropped" in server.log(),
             timeout=30, what="the throttled Event to expire")
    lam.delete_function_concurrency(FunctionName=name)
    assert call(lam, name, {})[1] == "done"
    assert not written.exists()
