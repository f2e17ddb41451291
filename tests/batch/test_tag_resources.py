"""TagResource / UntagResource / ListTagsForResource on every taggable resource type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batch.resource_support import (
    client_error,
    describe_ce,
    describe_queue,
    make_ce,
    make_queue,
    unique,
)


def resource_arns(batch: Any) -> dict[str, str]:
    ce = make_ce(batch)
    queue = make_queue(batch, [ce])
    definition = batch.register_job_definition(
        jobDefinitionName=unique("jd"), type="container", containerProperties={"image": "busybox"}
    )
    policy = batch.create_scheduling_policy(name=unique("sp"))
    return {
        "compute-environment": describe_ce(batch, ce)["computeEnvironmentArn"],
        "job-queue": describe_queue(batch, queue)["jobQueueArn"],
        "job-definition": definition["jobDefinitionArn"],
        "scheduling-policy": policy["arn"],
    }


@pytest.fixture(scope="module")
def arns(batch) -> dict[str, str]:
    return resource_arns(batch)


@pytest.mark.parametrize(
    "kind", ["compute-environment", "job-queue", "job-definition", "scheduling-policy"]
)
def test_tag_untag_list(batch, arns, kind) -> None:
    arn = arns[kind]
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    batch.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    batch.tag_resource(resourceArn=arn, tags={"b": "3"})
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "3"}
    batch.untag_resource(resourceArn=arn, tagKeys=["a", "never-set"])
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "3"}


def test_tags_show_in_describe(batch, arns) -> None:
    batch.tag_resource(resourceArn=arns["job-queue"], tags={"shown": "yes"})
    assert describe_queue(batch, arns["job-queue"])["tags"]["shown"] == "yes"


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ({"aws:reserved": "x"}, "aws:"),
        ({"k" * 129: "x"}, "128"),
        ({"k": "v" * 257}, "256"),
        ({f"k{i}": "v" for i in range(51)}, "50"),
    ],
)
def test_invalid_tags(batch, arns, tags, fragment) -> None:
    arn = arns["scheduling-policy"]
    before = batch.list_tags_for_resource(resourceArn=arn)["tags"]
    assert fragment in client_error(batch.tag_resource, resourceArn=arn, tags=tags)["Message"]
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == before


def test_tag_limit_counts_existing_tags(batch) -> None:
    arn = resource_arns(batch)["job-definition"]
    batch.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(50)})
    assert (
        "at most 50"
        in client_error(batch.tag_resource, resourceArn=arn, tags={"one-more": "v"})["Message"]
    )
    assert len(batch.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:batch:us-east-1:123456789012:job-queue/does-not-exist",
        "arn:aws:batch:us-east-1:123456789012:compute-environment/does-not-exist",
        "arn:aws:batch:us-east-1:123456789012:job-definition/does-not-exist:1",
        "arn:aws:batch:us-east-1:123456789012:unknown-kind/x",
        "arn:aws:s3:::bucket",
    ],
)
def test_unknown_resources(batch, arn) -> None:
    client_error(batch.list_tags_for_resource, resourceArn=arn)
    client_error(batch.tag_resource, resourceArn=arn, tags={"a": "b"})
    client_error(batch.untag_resource, resourceArn=arn, tagKeys=["a"])


def test_tags_of_deleted_resource_are_gone(batch) -> None:
    arn = batch.create_scheduling_policy(name=unique("sp"), tags={"a": "b"})["arn"]
    batch.delete_scheduling_policy(arn=arn)
    client_error(batch.list_tags_for_resource, resourceArn=arn)
    name = arn.rsplit("/", 1)[1]
    recreated = batch.create_scheduling_policy(name=name)["arn"]
    assert batch.list_tags_for_resource(resourceArn=recreated)["tags"] == {}
