"""Target input: Input, InputPath and the input transformer's placeholders and quoting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batchyard.events.model import InputTransformer, Target
from batchyard.events.transform import (
    DeliveryContext,
    InvalidInput,
    check_transformer,
    select,
    target_input,
)

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {
        "instance-id": "i-0123456789",
        "state": "RUNNING",
        "count": 3,
        "tags": {"a": "b"},
        "quote": 'say "hi"',
    },
}
CONTEXT = DeliveryContext(
    "arn:aws:events:us-east-1:123456789012:rule/r", "r", "2015-11-11T21:29:55Z"
)
PATHS = {
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "count": "$.detail.count",
    "tags": "$.detail.tags",
    "quote": "$.detail.quote",
    "missing": "$.detail.nope",
    "resource": "$.resources[0]",
}


def _transformed(template: str) -> str:
    target = Target("t", "a", input_transformer=InputTransformer(template, PATHS))
    return target_input(target, EVENT, CONTEXT)


TEMPLATES = [
    # JSON template: values outside strings are JSON, inside strings their text
    (
        '{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}',
        {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"},
    ),
    (
        '{"n": <count>, "t": <tags>, "r": <resource>}',
        {"n": 3, "t": {"a": "b"}, "r": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"},
    ),
    (
        '{"myStatus": "<instance> is in state \\"<state>\\""}',
        {"myStatus": 'i-0123456789 is in state "RUNNING"'},
    ),
    ('{"q": "<quote>", "qq": <quote>}', {"q": 'say "hi"', "qq": 'say "hi"'}),
    ('{"n": "<count>", "t": "<tags>"}', {"n": "3", "t": '{"a": "b"}'}),
    ('{"m": <missing>, "ms": "x<missing>y"}', {"m": None, "ms": "xy"}),
    # predefined variables
    (
        '{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>",'
        ' "at": <aws.events.event.ingestion-time>}',
        {"arn": CONTEXT.rule_arn, "name": "r", "at": "2015-11-11T21:29:55Z"},
    ),
    ('{"whole": <aws.events.event.json>}', {"whole": EVENT}),
    ('{"head": <aws.events.event>}', {"head": {k: v for k, v in EVENT.items() if k != "detail"}}),
    # a template that is a JSON string
    ('"instance <instance> is in <state>"', "instance i-0123456789 is in RUNNING"),
]


@pytest.mark.parametrize(("template", "expected"), TEMPLATES, ids=[t[0][:40] for t in TEMPLATES])
def test_json_templates(template: str, expected: Any) -> None:
    assert json.loads(_transformed(template)) == expected


def test_plain_text_template_gets_plain_values() -> None:
    assert _transformed("<instance> is in state <state> x<count>") == (
        "i-0123456789 is in state RUNNING x3"
    )


def test_input_options() -> None:
    fixed = Target("t", "a", input='{"fixed": 1}')
    assert target_input(fixed, EVENT, CONTEXT) == '{"fixed": 1}'
    path = Target("t", "a", input_path="$.detail.tags")
    assert json.loads(target_input(path, EVENT, CONTEXT)) == {"a": "b"}
    assert json.loads(target_input(Target("t", "a"), EVENT, CONTEXT)) == EVENT


def test_select_paths() -> None:
    assert select(EVENT, "$") == EVENT
    assert select(EVENT, "$.detail-type") == EVENT["detail-type"]
    assert select(EVENT, "$.resources[0]") == EVENT["resources"][0]
    assert select(EVENT, "$.resources[*]") == EVENT["resources"]
    assert select(EVENT, "$.detail['instance-id']") == "i-0123456789"
    assert select(EVENT, "$.detail.nope") is None


@pytest.mark.parametrize(
    ("paths", "template", "message"),
    [
        ({"a": "$.x"}, "<b>", "InputTemplate contains invalid placeholder b"),
        ({"a": "x"}, "<a>", "x is not a valid JSON path"),
        (
            {"aws.events.rule-arn": "$.x"},
            "<a>",
            "InputPathsMap key aws.events.rule-arn is not valid",
        ),
        ({"a b": "$.x"}, "", "InputPathsMap key a b is not valid"),
    ],
)
def test_invalid_transformers(paths: dict[str, str], template: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_transformer(paths, template)


def test_guides_batch_parameters_example_is_rejected_for_its_undefined_placeholders() -> None:
    # The Batch guide's example maps "instance"/"state" but the template uses <jobId>/<status>.
    with pytest.raises(InvalidInput, match="invalid placeholder jobId"):
        check_transformer(
            {"instance": "$.detail.jobId", "state": "$.detail.status"},
            '{"instance": <jobId> , "status": <status>}',
        )
