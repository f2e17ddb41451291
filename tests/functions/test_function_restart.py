"""Functions survive a restart: configuration and code from the store, pending Events replayed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.functions.support import call, create, zip_of
from tests.support.server import ServerProcess, wait_for

SOURCE = """
    import os
    import time

    def handler(event, context):
        if event.get("gate"):
            while not os.path.exists(event["gate"]):
                time.sleep(0.05)
        if event.get("write"):
            with open(event["write"], "a") as out:
                out.write("ran\\n")
        return {"answer": event.get("n", 0) * 2, "stage": os.environ["STAGE"]}
"""


def test_functions_survive_a_restart(new_server: Callable[..., ServerProcess],
                                     tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = new_server(data_dir=data_dir)
    lam = first.client("lambda")
    name = create(lam, SOURCE, Environment={"Variables": {"STAGE": "old"}}, Timeout=10)
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="stable", FunctionVersion="1")
    # New code (another digest) and configuration for $LATEST; version 1 keeps the old ones.
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({"app.py": SOURCE + "    # two\n"}))
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "prod"}}
    )
    before = lam.get_function_configuration(FunctionName=name)
    assert call(lam, name, {"n": 2})[1] == {"answer": 4, "stage": "prod"}
    first.stop()
    # The unpacked code is a cache: the store holds the zip.
    shutil.rmtree(tmp_path / "data-work" / "functions")

    second = new_server(data_dir=data_dir)
    lam = second.client("lambda")
    after = lam.get_function_configuration(FunctionName=name)
    for key in ("FunctionArn", "CodeSha256", "RevisionId", "Timeout", "Environment"):
        assert after[key] == before[key], key
    assert call(lam, name, {"n": 21})[1] == {"answer": 42, "stage": "prod"}
    # Versions and aliases too, the version's code unpacked again from the store.
    assert call(lam, name, {"n": 1}, Qualifier="stable")[1] == {"answer": 2, "stage": "old"}


def test_an_accepted_event_runs_after_a_restart(new_server: Callable[..., ServerProcess],
                                                tmp_path: Path, open_dir: Path) -> None:
    data_dir = tmp_path / "data"
    gate, output = open_dir / "gate", open_dir / "output.txt"
    first = new_server(data_dir=data_dir)
    lam: Any = first.client("lambda")
    name = create(lam, SOURCE, Environment={"Variables": {"STAGE": "x"}}, Timeout=60)
    response = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"gate": str(gate), "write": str(output)}))
    assert response["StatusCode"] == 202
    # Stopping the server stops the worker blocked on the gate: the event has not run.
    first.stop()
    assert not output.exists()
    gate.touch()

    new_server(data_dir=data_dir)
    wait_for(lambda: output.exists() and output.read_text() == "ran\n", timeout=30,
             what="the replayed Event invocation")


def test_a_failing_event_is_tried_three_times_with_one_request_id(
    new_server: Callable[..., ServerProcess], open_dir: Path
) -> None:
    # Lambda waits one and then two minutes between attempts; 600x makes that 0.1 s and 0.2 s.
    lam = new_server(env={"BATCHYARD_TIME_SCALE": "600"}).client("lambda")
    attempts = open_dir / "attempts.txt"
    name = create(lam, """
        def handler(event, context):
            with open(event["log"], "a") as out:
                out.write(context.aws_request_id + "\\n")
            raise RuntimeError("always fails")
    """)
    response = lam.invoke(FunctionName=name, InvocationType="Event",
                          Payload=json.dumps({"log": str(attempts)}))
    assert response["StatusCode"] == 202
    lines = wait_for(
        lambda: attempts.exists() and len(ids := attempts.read_text().split()) == 3 and ids,
        timeout=30, what="three attempts",
    )
    assert set(lines) == {response["ResponseMetadata"]["RequestId"]}
