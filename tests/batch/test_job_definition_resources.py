"""Job definitions through boto3: revisions, lookup, deregistration and validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batch.resource_support import client_error, unique

CONTAINER = {
    "image": "busybox",
    "command": ["echo", "Ref::greeting"],
    "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "128"}],
}
FARGATE = {
    "image": "busybox",
    "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
    "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
}


def register(batch: Any, name: str | None = None, **params: Any) -> dict[str, Any]:
    params.setdefault("type", "container")
    if params["type"] == "container" and not any(
        k in params for k in ("containerProperties", "ecsProperties", "eksProperties")
    ):
        params["containerProperties"] = CONTAINER
    return batch.register_job_definition(jobDefinitionName=name or unique("jd"), **params)


def describe(batch: Any, **params: Any) -> list[dict[str, Any]]:
    return batch.describe_job_definitions(**params)["jobDefinitions"]


def test_revisions_count_up_per_name(batch) -> None:
    name = unique("jd")
    first = register(batch, name, parameters={"greeting": "hi"}, tags={"a": "1"})
    second = register(batch, name)
    assert (first["revision"], second["revision"]) == (1, 2)
    assert (
        first["jobDefinitionArn"] == f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}:1"
    )
    found = describe(batch, jobDefinitionName=name)
    assert [d["revision"] for d in found] == [1, 2]
    assert found[0]["status"] == "ACTIVE"
    assert found[0]["parameters"] == {"greeting": "hi"}
    assert found[0]["tags"] == {"a": "1"}
    assert (
        found[0]["containerProperties"]["resourceRequirements"] == CONTAINER["resourceRequirements"]
    )
    # Not sent, not invented (as AWS answers); EC2 is what its absence means.
    assert "platformCapabilities" not in found[0]


def test_lookup_by_name_revision_and_arn(batch) -> None:
    name = unique("jd")
    first = register(batch, name)
    register(batch, name)
    by_ref = describe(batch, jobDefinitions=[f"{name}:1", first["jobDefinitionArn"]])
    assert [d["revision"] for d in by_ref] == [1]
    by_name = describe(batch, jobDefinitions=[name])
    assert [d["revision"] for d in by_name] == [1, 2]
    assert describe(batch, jobDefinitions=[f"{name}:9"]) == []


def test_deregister_marks_inactive_and_revisions_continue(batch) -> None:
    name = unique("jd")
    first = register(batch, name)
    register(batch, name)
    batch.deregister_job_definition(jobDefinition=f"{name}:2")
    batch.deregister_job_definition(jobDefinition=first["jobDefinitionArn"])
    assert [d["status"] for d in describe(batch, jobDefinitionName=name)] == [
        "INACTIVE",
        "INACTIVE",
    ]
    assert describe(batch, jobDefinitionName=name, status="ACTIVE") == []
    assert register(batch, name)["revision"] == 3
    assert [d["revision"] for d in describe(batch, jobDefinitionName=name, status="ACTIVE")] == [3]
    assert [d["revision"] for d in describe(batch, jobDefinitionName=name, status="INACTIVE")] == [
        1,
        2,
    ]


def test_deregister_errors(batch) -> None:
    name = unique("jd")
    assert (
        "does not exist"
        in client_error(batch.deregister_job_definition, jobDefinition=f"{name}:1")["Message"]
    )
    assert (
        "name:revision"
        in client_error(batch.deregister_job_definition, jobDefinition=name)["Message"]
    )
    arn = f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}:4"
    assert (
        "does not exist"
        in client_error(batch.deregister_job_definition, jobDefinition=arn)["Message"]
    )


def test_describe_filter_errors(batch) -> None:
    assert "ACTIVE" in client_error(batch.describe_job_definitions, status="DELETED")["Message"]
    error = client_error(
        batch.describe_job_definitions, jobDefinitions=["x:1"], jobDefinitionName="x"
    )
    assert "can't be used" in error["Message"]


def test_pagination(new_server) -> None:
    batch = new_server().client("batch")
    for i in range(5):
        register(batch, f"page{i % 2}")
    paginator = batch.get_paginator("describe_job_definitions")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["jobDefinitions"]) for p in pages] == [2, 2, 1]
    seen = [(d["jobDefinitionName"], d["revision"]) for p in pages for d in p["jobDefinitions"]]
    assert seen == [("page0", 1), ("page1", 1), ("page0", 2), ("page1", 2), ("page0", 3)]
    named = batch.describe_job_definitions(jobDefinitionName="page0", maxResults=2)
    rest = batch.describe_job_definitions(
        jobDefinitionName="page0", maxResults=2, nextToken=named["nextToken"]
    )
    assert [d["revision"] for d in rest["jobDefinitions"]] == [3]
    assert client_error(batch.describe_job_definitions, maxResults=101)["Message"] == (
        "maxResults must be between 1 and 100."
    )


def test_full_definition_is_stored(batch) -> None:
    name = unique("jd")
    params = {
        "parameters": {"p": "v"},
        "schedulingPriority": 50,
        "retryStrategy": {
            "attempts": 3,
            "evaluateOnExit": [
                {"onExitCode": "1*", "action": "RETRY"},
                {"onStatusReason": "Host EC2*", "action": "RETRY"},
                {"onReason": "*", "action": "EXIT"},
            ],
        },
        "timeout": {"attemptDurationSeconds": 60},
        "propagateTags": True,
        "consumableResourceProperties": {
            "consumableResourceList": [{"consumableResource": "lic", "quantity": 2}]
        },
        "containerProperties": {
            **CONTAINER,
            "environment": [{"name": "MY_VAR", "value": "1"}],
            "volumes": [{"name": "data", "host": {"sourcePath": "/tmp"}}],
            "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": True}],
            "linuxParameters": {"swappiness": 10, "maxSwap": 0},
        },
    }
    register(batch, name, **params)
    stored = describe(batch, jobDefinitions=[f"{name}:1"])[0]
    for key, value in params.items():
        assert stored[key] == value, key


def test_fargate_definition(batch) -> None:
    name = unique("jd")
    register(batch, name, platformCapabilities=["FARGATE"], containerProperties=FARGATE)
    first = describe(batch, jobDefinitions=[f"{name}:1"])[0]
    assert first["platformCapabilities"] == ["FARGATE"]
    # The platform version a Fargate container runs on when it names none.
    assert first["containerProperties"]["fargatePlatformConfiguration"] == {
        "platformVersion": "LATEST"
    }
    platform = {
        **FARGATE,
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
        "ephemeralStorage": {"sizeInGiB": 200},
    }
    register(batch, name, platformCapabilities=["FARGATE"], containerProperties=platform)
    stored = describe(batch, jobDefinitions=[f"{name}:2"])[0]["containerProperties"]
    assert stored["runtimePlatform"] == platform["runtimePlatform"]
    assert stored["ephemeralStorage"] == {"sizeInGiB": 200}


def test_multinode_definition(batch) -> None:
    name = unique("jd")
    nodes = {
        "numNodes": 6,
        "mainNode": 0,
        "nodeRangeProperties": [
            {"targetNodes": "0:3", "container": CONTAINER},
            {"targetNodes": "4:", "container": CONTAINER},
        ],
    }
    register(batch, name, type="multinode", nodeProperties=nodes)
    assert describe(batch, jobDefinitions=[f"{name}:1"])[0]["nodeProperties"] == nodes


def containers(**changes: Any) -> dict[str, Any]:
    return {**CONTAINER, **changes}


def requirements(
    vcpu: str | None = "1", memory: str | None = "128", gpu: str | None = None
) -> list[dict]:
    found = [("VCPU", vcpu), ("MEMORY", memory), ("GPU", gpu)]
    return [{"type": kind, "value": value} for kind, value in found if value is not None]


INVALID = [
    ("retry attempts 0", {"retryStrategy": {"attempts": 0}}, "between 1 and 10"),
    ("retry attempts 11", {"retryStrategy": {"attempts": 11}}, "between 1 and 10"),
    (
        "six evaluateOnExit",
        {"retryStrategy": {"attempts": 2, "evaluateOnExit": [{"action": "EXIT"}] * 6}},
        "at most 5",
    ),
    (
        "exit code letters",
        {
            "retryStrategy": {
                "attempts": 2,
                "evaluateOnExit": [{"action": "EXIT", "onExitCode": "a1"}],
            }
        },
        "onExitCode",
    ),
    (
        "reason symbols",
        {
            "retryStrategy": {
                "attempts": 2,
                "evaluateOnExit": [{"action": "EXIT", "onReason": "a$b"}],
            }
        },
        "onReason",
    ),
    (
        "status reason inner star",
        {
            "retryStrategy": {
                "attempts": 2,
                "evaluateOnExit": [{"action": "RETRY", "onStatusReason": "a*b"}],
            }
        },
        "onStatusReason",
    ),
    (
        "long pattern",
        {
            "retryStrategy": {
                "attempts": 2,
                "evaluateOnExit": [{"action": "EXIT", "onExitCode": "1" * 513}],
            }
        },
        "512",
    ),
    (
        "evaluateOnExit without attempts",
        {"retryStrategy": {"evaluateOnExit": [{"action": "EXIT"}]}},
        "attempts",
    ),
    ("timeout 59", {"timeout": {"attemptDurationSeconds": 59}}, "at least 60"),
    ("priority 10000", {"schedulingPriority": 10000}, "schedulingPriority"),
    (
        "memory 3",
        {"containerProperties": containers(resourceRequirements=requirements(memory="3"))},
        "at least 4",
    ),
    (
        "memory text",
        {"containerProperties": containers(resourceRequirements=requirements(memory="lots"))},
        "Invalid MEMORY",
    ),
    (
        "fractional vcpu on EC2",
        {"containerProperties": containers(resourceRequirements=requirements(vcpu="0.5"))},
        "whole number",
    ),
    (
        "vcpu zero",
        {"containerProperties": containers(resourceRequirements=requirements(vcpu="0"))},
        "VCPU",
    ),
    (
        "gpu text",
        {"containerProperties": containers(resourceRequirements=requirements(gpu="x"))},
        "GPU",
    ),
    (
        "duplicate vcpu",
        {
            "containerProperties": containers(
                resourceRequirements=[*requirements(), *requirements(memory=None)]
            )
        },
        "more than one VCPU",
    ),
    ("legacy and new vcpus", {"containerProperties": containers(vcpus=2)}, "vcpus"),
    (
        "legacy memory 2",
        {"containerProperties": {"image": "busybox", "memory": 2}},
        "memory must be at least 4",
    ),
    (
        "legacy vcpus 0",
        {"containerProperties": {"image": "busybox", "vcpus": 0}},
        "vcpus must be at least 1",
    ),
    (
        "reserved env",
        {
            "containerProperties": containers(
                environment=[{"name": "AWS_BATCH_JOB_ID", "value": "x"}]
            )
        },
        "AWS_BATCH",
    ),
    (
        "empty env name",
        {"containerProperties": containers(environment=[{"value": "x"}])},
        "must not be empty",
    ),
    ("no image", {"containerProperties": {"command": ["x"]}}, "image"),
    (
        "mount without volume",
        {
            "containerProperties": containers(
                mountPoints=[{"sourceVolume": "v", "containerPath": "/v"}]
            )
        },
        "sourceVolume",
    ),
    (
        "swappiness 101",
        {"containerProperties": containers(linuxParameters={"swappiness": 101})},
        "swappiness",
    ),
    ("container without properties", {"containerProperties": None}, "exactly one"),
    (
        "fargate fractional mismatch",
        {
            "platformCapabilities": ["FARGATE"],
            "containerProperties": {
                **FARGATE,
                "resourceRequirements": requirements(vcpu="0.25", memory="4096"),
            },
        },
        "Invalid MEMORY",
    ),
    (
        "fargate bad vcpu",
        {
            "platformCapabilities": ["FARGATE"],
            "containerProperties": {
                **FARGATE,
                "resourceRequirements": requirements(vcpu="3", memory="4096"),
            },
        },
        "Invalid VCPU",
    ),
    (
        "fargate without role",
        {
            "platformCapabilities": ["FARGATE"],
            "containerProperties": {**FARGATE, "executionRoleArn": None},
        },
        "executionRoleArn",
    ),
    (
        "fargate gpu",
        {
            "platformCapabilities": ["FARGATE"],
            "containerProperties": {
                **FARGATE,
                "resourceRequirements": requirements(vcpu="1", memory="2048", gpu="1"),
            },
        },
        "GPU",
    ),
    (
        "fargate legacy",
        {"platformCapabilities": ["FARGATE"], "containerProperties": {**FARGATE, "vcpus": 1}},
        "deprecated",
    ),
    (
        "fargate privileged",
        {
            "platformCapabilities": ["FARGATE"],
            "containerProperties": {**FARGATE, "privileged": True},
        },
        "privileged",
    ),
    *[
        (
            case,
            {
                "platformCapabilities": ["FARGATE"],
                "containerProperties": {**FARGATE, **extra},
            },
            fragment,
        )
        for case, extra, fragment in (
            ("ephemeral storage too small", {"ephemeralStorage": {"sizeInGiB": 20}}, "21 and 200"),
            ("ephemeral storage too big", {"ephemeralStorage": {"sizeInGiB": 201}}, "21 and 200"),
            (
                "unknown os family",
                {"runtimePlatform": {"operatingSystemFamily": "MACOS"}},
                "operatingSystemFamily MACOS",
            ),
            (
                "unknown cpu",
                {"runtimePlatform": {"cpuArchitecture": "RISCV"}},
                "cpuArchitecture RISCV",
            ),
            (
                "windows on arm",
                {
                    "runtimePlatform": {
                        "operatingSystemFamily": "WINDOWS_SERVER_2019_CORE",
                        "cpuArchitecture": "ARM64",
                    }
                },
                "must be X86_64 for Windows",
            ),
            (
                "windows with a user",
                {
                    "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_FULL"},
                    "user": "nobody",
                },
                "user can't be set for Windows",
            ),
            (
                "windows with linux parameters",
                {
                    "runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_FULL"},
                    "linuxParameters": {"initProcessEnabled": True},
                },
                "linuxParameters can't be set for Windows",
            ),
        )
    ],
    (
        "fargate multinode",
        {
            "type": "multinode",
            "platformCapabilities": ["FARGATE"],
            "nodeProperties": {
                "numNodes": 1,
                "mainNode": 0,
                "nodeRangeProperties": [{"targetNodes": "0:", "container": CONTAINER}],
            },
        },
        "Fargate",
    ),
    (
        "multinode without nodes",
        {"type": "multinode", "containerProperties": None},
        "nodeProperties must be",
    ),
    (
        "main node out of range",
        {
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 2,
                "mainNode": 2,
                "nodeRangeProperties": [{"targetNodes": "0:", "container": CONTAINER}],
            },
        },
        "mainNode",
    ),
    (
        "gap in node ranges",
        {
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 6,
                "mainNode": 0,
                "nodeRangeProperties": [
                    {"targetNodes": "0:2", "container": CONTAINER},
                    {"targetNodes": "4:", "container": CONTAINER},
                ],
            },
        },
        "cover every node",
    ),
    (
        "overlapping node ranges",
        {
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 6,
                "mainNode": 0,
                "nodeRangeProperties": [
                    {"targetNodes": "0:3", "container": CONTAINER},
                    {"targetNodes": "2:", "container": CONTAINER},
                ],
            },
        },
        "overlaps",
    ),
    (
        "range past the end",
        {
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 2,
                "mainNode": 0,
                "nodeRangeProperties": [{"targetNodes": "0:5", "container": CONTAINER}],
            },
        },
        "outside",
    ),
    (
        "bad target syntax",
        {
            "type": "multinode",
            "nodeProperties": {
                "numNodes": 2,
                "mainNode": 0,
                "nodeRangeProperties": [{"targetNodes": "a-b", "container": CONTAINER}],
            },
        },
        "targetNodes",
    ),
    (
        "too many consumables",
        {
            "consumableResourceProperties": {
                "consumableResourceList": [
                    {"consumableResource": f"r{i}", "quantity": 1} for i in range(6)
                ]
            }
        },
        "at most 5",
    ),
    ("reserved tag", {"tags": {"aws:owner": "x"}}, "aws:"),
]


@pytest.mark.parametrize(("case", "params", "fragment"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_definitions_are_refused(batch, case, params, fragment) -> None:
    name = unique("bad-jd")
    body = {"type": "container", **params}
    if body["type"] == "container" and "containerProperties" not in body:
        body["containerProperties"] = CONTAINER
    body = {k: v for k, v in body.items() if v is not None}
    if isinstance(body.get("containerProperties"), dict):
        body["containerProperties"] = {
            k: v for k, v in body["containerProperties"].items() if v is not None
        }
    error = client_error(batch.register_job_definition, jobDefinitionName=name, **body)
    assert fragment in error["Message"], error["Message"]
    assert describe(batch, jobDefinitionName=name) == []


def test_invalid_name(batch) -> None:
    error = client_error(
        batch.register_job_definition,
        jobDefinitionName="a:b",
        type="container",
        containerProperties=CONTAINER,
    )
    assert error["Message"].endswith("Job definition name should match valid pattern")


def test_oversized_definition_is_refused(batch) -> None:
    name = unique("jd")
    big = {"containerProperties": containers(command=["x" * 25 * 1024])}
    with pytest.raises(Exception) as caught:
        register(batch, name, **big)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "24 KiB" in response["Error"]["Message"]
    assert describe(batch, jobDefinitionName=name) == []


def test_evaluate_on_exit_actions_keep_the_case_they_were_given(batch) -> None:
    """The guide: the action "isn't case sensitive"; AWS answers it as it was sent."""
    name = unique("jd")
    rules = [{"onExitCode": "1", "action": "exit"}, {"onReason": "*", "action": "Retry"}]
    register(batch, name, retryStrategy={"attempts": 2, "evaluateOnExit": rules})
    stored = describe(batch, jobDefinitions=[f"{name}:1"])[0]["retryStrategy"]
    assert stored["evaluateOnExit"] == rules
    error = client_error(
        batch.register_job_definition, jobDefinitionName=unique("jd"), type="container",
        containerProperties=CONTAINER,
        retryStrategy={"attempts": 2, "evaluateOnExit": [{"onReason": "*", "action": "skip"}]},
    )
    assert "enum value set: [RETRY, EXIT]" in error["Message"]
