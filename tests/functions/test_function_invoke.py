"""Invoke over boto3: payloads, errors, logs, Event and DryRun, timeouts, warm workers."""

from __future__ import annotations

import base64
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.batch.resource_support import make_ce, make_queue
from tests.functions.support import call, create, unique, zip_of
from tests.support.server import ServerProcess, wait_for

ECHO = """
    import os
    import time

    COUNT = 0

    def handler(event, context):
        global COUNT
        COUNT += 1
        if event.get("print"):
            print(event["print"])
        if event.get("sleep"):
            time.sleep(event["sleep"])
        if event.get("write"):
            with open(event["write"], "w") as out:
                out.write(json.dumps(event))
        return {"count": COUNT, "pid": os.getpid(), "event": event}

    import json
"""

CONTEXT = """
    import os

    def handler(event, context):
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "env": {k: v for k, v in os.environ.items()
                    if k.startswith(("AWS_", "STAGE", "_HANDLER", "LAMBDA_"))},
            "cwd": os.getcwd(),
        }
"""


def test_request_response_returns_the_handlers_json(lam: Any) -> None:
    name = create(lam, ECHO)
    response, body = call(lam, name, {"hello": "world", "n": [1, 2]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"hello": "world", "n": [1, 2]}
    assert "LogResult" not in response


def test_non_object_payloads_and_results_pass_through(lam: Any) -> None:
    name = create(lam, "def handler(event, context):\n    return [event, 'done']\n")
    assert call(lam, name, "text")[1] == ["text", "done"]
    assert call(lam, name, 7)[1] == [7, "done"]
    assert call(lam, name)[1] == [{}, "done"]


def test_context_and_environment_are_lambdas(lam: Any, server: ServerProcess) -> None:
    name = create(lam, CONTEXT, MemorySize=256, Timeout=20,
                  Environment={"Variables": {"STAGE": "test"}})
    response, body = call(lam, name, {})
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["invoked_function_arn"] == arn
    assert body["memory_limit_in_mb"] == "256"
    assert body["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert body["log_group_name"] == f"/aws/lambda/{name}"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", body["log_stream_name"])
    assert 0 < body["remaining"] <= 20_000
    env = body["env"]
    assert env["AWS_ENDPOINT_URL"] == server.endpoint
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == body["log_stream_name"]
    assert env["_HANDLER"] == "app.handler"
    assert env["STAGE"] == "test"
    assert body["cwd"] == env["LAMBDA_TASK_ROOT"]
    qualified = lam.invoke(FunctionName=f"{arn}:$LATEST")
    assert json.loads(qualified["Payload"].read())["invoked_function_arn"] == f"{arn}:$LATEST"


def test_a_raised_exception_is_an_unhandled_function_error(lam: Any) -> None:
    name = create(lam, """
        def handler(event, context):
            check(event)

        def check(event):
            raise ValueError("bad input: " + event["what"])
    """)
    response, body = call(lam, name, {"what": "nothing"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "bad input: nothing"
    assert body["errorType"] == "ValueError"
    assert body["requestId"] == response["ResponseMetadata"]["RequestId"]
    trace = body["stackTrace"]
    assert len(trace) == 2
    assert 'app.py", line 3, in handler' in trace[0]
    assert 'app.py", line 6, in check' in trace[1]
    assert 'raise ValueError("bad input: " + event["what"])' in trace[1]
    log = base64.b64decode(response["LogResult"]).decode()
    assert "[ERROR] ValueError: bad input: nothing" in log
    assert "Status: error\tError Type: ValueError" in log


def test_log_tail_has_the_printed_lines_between_start_and_report(lam: Any) -> None:
    name = create(lam, ECHO)
    response, _ = call(lam, name, {"print": "first line\nsecond line"}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    lines = base64.b64decode(response["LogResult"]).decode().splitlines()
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    assert lines[start + 1:start + 3] == ["first line", "second line"]
    assert lines[start + 3] == f"END RequestId: {request_id}"
    assert lines[start + 4].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "\tMemory Size: 128 MB\t" in lines[start + 4]


def test_log_tail_is_the_last_4_kb(lam: Any) -> None:
    name = create(lam, ECHO)
    response, _ = call(lam, name, {"print": "\n".join(f"line {i:05d}" for i in range(2000))},
                       LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert len(tail) <= 4096
    assert b"line 01999" in tail
    assert b"line 00000" not in tail
    assert tail.rstrip().splitlines()[-1].startswith(b"REPORT RequestId: ")


def test_output_reaches_the_log_group(lam: Any, server: ServerProcess) -> None:
    name = create(lam, ECHO)
    marker = unique("logged")
    response, _ = call(lam, name, {"print": marker})
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = server.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    messages = [e["message"] for e in events]
    assert marker in messages
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [events[0]["logStreamName"]]
    assert "[$LATEST]" in streams[0]["logStreamName"]


def test_event_invocation_answers_202_and_runs_in_the_background(
    lam: Any, open_dir: Path
) -> None:
    name = create(lam, ECHO)
    target = open_dir / "event.json"
    response = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"write": str(target), "tag": "async"}))
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    written = wait_for(lambda: target.exists() and target.read_text(), timeout=30,
                       what="the Event invocation's side effect")
    assert json.loads(written)["tag"] == "async"


def test_dry_run_answers_204_without_running(lam: Any) -> None:
    name = create(lam, ECHO)
    response = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""
    assert call(lam, name, {})[1]["count"] == 1


def test_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(lam: Any) -> None:
    name = create(lam, ECHO, Timeout=1)
    first = call(lam, name, {})[1]
    response, body = call(lam, name, {"sleep": 30, "print": "going to sleep"}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    log = base64.b64decode(response["LogResult"]).decode()
    assert "going to sleep" in log
    assert "Task timed out after 1.00 seconds" in log
    assert "Status: timeout" in log
    after = call(lam, name, {})[1]
    assert after["count"] == 1
    assert after["pid"] != first["pid"]


def test_a_warm_worker_keeps_module_state_between_invocations(lam: Any) -> None:
    name = create(lam, ECHO)
    bodies = [call(lam, name, {})[1] for _ in range(3)]
    assert [b["count"] for b in bodies] == [1, 2, 3]
    assert len({b["pid"] for b in bodies}) == 1


def test_cold_start_logs_init_then_warm_calls_do_not(lam: Any) -> None:
    name = create(lam, "print('Loading function')\ndef handler(event, context):\n    return 1\n")
    cold = base64.b64decode(call(lam, name, LogType="Tail")[0]["LogResult"]).decode()
    warm = base64.b64decode(call(lam, name, LogType="Tail")[0]["LogResult"]).decode()
    assert cold.startswith("INIT_START Runtime Version: python:3.12\nLoading function\nSTART ")
    assert "Init Duration: " in cold
    assert warm.startswith("START RequestId: ")
    assert "Loading function" not in warm
    assert "Init Duration" not in warm


def test_new_code_and_configuration_take_effect_on_the_next_call(lam: Any) -> None:
    name = create(lam, ECHO, Environment={"Variables": {"STAGE": "one"}})
    assert call(lam, name, {})[1]["count"] == 1
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({
        "app.py": "import os\ndef handler(event, context):\n    return os.environ['STAGE']\n",
    }))
    assert call(lam, name, {})[1] == "one"
    lam.update_function_configuration(FunctionName=name,
                                      Environment={"Variables": {"STAGE": "two"}})
    assert call(lam, name, {})[1] == "two"


def test_handler_in_a_package_directory(lam: Any) -> None:
    name = unique("pkg")
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role="arn:aws:iam::123456789012:role/r",
        Handler="service/entry.main",
        Code={"ZipFile": zip_of({
            "service/__init__.py": "",
            "service/entry.py": "from service.helper import twice\n"
                                "def main(event, context):\n    return twice(event['x'])\n",
            "service/helper.py": "def twice(x):\n    return 2 * x\n",
        })},
    )
    assert call(lam, name, {"x": 21})[1] == 42


@pytest.mark.parametrize(
    ("handler", "source", "error_type", "message"),
    [
        ("missing.handler", "x = 1\n", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ("app.nothing", "x = 1\n", "Runtime.HandlerNotFound",
         "Handler 'nothing' missing on module 'app'"),
        ("app", "x = 1\n", "Runtime.MalformedHandlerName",
         "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
        ("app.handler", "def handler(event, context)\n", "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'app'"),
        ("app.handler", "raise RuntimeError('init failed')\n", "RuntimeError", "init failed"),
    ],
)
def test_init_failures_are_reported_as_lambda_does(
    lam: Any, handler: str, source: str, error_type: str, message: str
) -> None:
    name = create(lam, source, handler=handler)
    for _ in range(2):
        response, body = call(lam, name, {})
        assert response["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)


def test_unserializable_result_is_a_marshal_error(lam: Any) -> None:
    name = create(lam, "def handler(event, context):\n    return {1, 2}\n")
    response, body = call(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"].startswith("Unable to marshal response: Object of type set")


def test_a_worker_that_exits_is_reported_and_replaced(lam: Any) -> None:
    name = create(lam, """
        import os

        def handler(event, context):
            if event.get("exit"):
                os._exit(3)
            return os.getpid()
    """)
    response, body = call(lam, name, {"exit": True})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert isinstance(call(lam, name, {})[1], int)


def test_payload_that_is_not_json_is_refused(lam: Any) -> None:
    name = create(lam, ECHO)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert caught.value.response["Error"]["Message"].startswith(
        "Could not parse request body into json")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_boto3_inside_a_handler_talks_to_this_server(lam: Any, batch: Any) -> None:
    queue = make_queue(batch, [make_ce(batch)])
    name = create(lam, """
        import boto3

        batch = boto3.client("batch")

        def handler(event, context):
            found = batch.describe_job_queues(jobQueues=[event["queue"]])["jobQueues"]
            return [q["jobQueueName"] for q in found]
    """)
    assert call(lam, name, {"queue": queue})[1] == [queue]


def test_concurrent_invocations_run_side_by_side(lam: Any, open_dir: Path) -> None:
    name = create(lam, """
        import os
        import time

        def handler(event, context):
            open(event["mine"], "w").close()
            while not os.path.exists(event["other"]):
                time.sleep(0.02)
            return os.getpid()
    """, Timeout=20)
    a, b = str(open_dir / "a"), str(open_dir / "b")
    with ThreadPoolExecutor(2) as executor:
        first = executor.submit(call, lam, name, {"mine": a, "other": b})
        second = executor.submit(call, lam, name, {"mine": b, "other": a})
        pids = {first.result(timeout=30)[1], second.result(timeout=30)[1]}
    assert len(pids) == 2


def test_a_response_above_6_mb_is_a_function_error(lam: Any) -> None:
    name = create(lam, "def handler(event, context):\n    return 'x' * (6 * 1024 * 1024)\n")
    response, body = call(lam, name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert "exceeded maximum allowed payload size (6291456 bytes)" in body["errorMessage"]
