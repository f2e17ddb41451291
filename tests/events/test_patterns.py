"""Event-pattern matching and validation, table-driven, after the EventBridge docs'
content-filtering examples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from batchyard.events.patterns import InvalidEventPattern, compile_pattern, matches

EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "FileName": "image.PNG",
        "Location": None,
        "enabled": True,
        "tags": ["prod", "web"],
        "nested": {"deeper": {"value": "yes"}},
        "items": [{"name": "a", "size": 1}, {"name": "b", "size": 2}],
        "empty": [],
        "quoted": "5",
    },
}


def _detail(pattern: dict[str, Any]) -> dict[str, Any]:
    return {"detail": pattern}


MATCHING: list[tuple[str, dict[str, Any], bool]] = [
    # exact values, arrays as OR, AND across fields
    ("exact source", {"source": ["aws.ec2"]}, True),
    ("exact miss", {"source": ["aws.s3"]}, False),
    ("array is OR", {"source": ["aws.s3", "aws.ec2"]}, True),
    ("fields are AND", {"source": ["aws.ec2"], "region": ["us-east-1"]}, False),
    ("nested exact", _detail({"state": ["terminated"]}), True),
    ("deep nesting", _detail({"nested": {"deeper": {"value": ["yes"]}}}), True),
    ("missing field", _detail({"nope": ["x"]}), False),
    ("number exact", _detail({"c-count": [5]}), True),
    ("number compares numerically", _detail({"c-count": [5.0]}), True),
    ("number is not a string", _detail({"quoted": [5]}), False),
    ("string is not a number", _detail({"c-count": ["5"]}), False),
    ("boolean", _detail({"enabled": [True]}), True),
    ("boolean is not 1", _detail({"c-count": [True]}), False),
    ("null matches null", _detail({"Location": [None]}), True),
    ("null does not match missing", _detail({"nope": [None]}), False),
    ("empty string", _detail({"state": [""]}), False),
    # arrays in the event: any element
    (
        "array element",
        {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]},
        True,
    ),
    ("array element of detail", _detail({"tags": ["web"]}), True),
    ("array element miss", _detail({"tags": ["dev"]}), False),
    (
        "array of objects: one element matches all",
        _detail({"items": {"name": ["a"], "size": [1]}}),
        True,
    ),
    (
        "array of objects: no element matches all",
        _detail({"items": {"name": ["a"], "size": [2]}}),
        False,
    ),
    # prefix / suffix
    ("prefix", {"time": [{"prefix": "2017-12-22"}]}, True),
    ("prefix miss", {"time": [{"prefix": "2018"}]}, False),
    ("prefix ignore case", _detail({"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}), True),
    ("prefix is case-sensitive", _detail({"state": [{"prefix": "TERM"}]}), False),
    ("prefix skips numbers", _detail({"c-count": [{"prefix": "5"}]}), False),
    ("suffix", _detail({"FileName": [{"suffix": ".PNG"}]}), True),
    ("suffix is case-sensitive", _detail({"FileName": [{"suffix": ".png"}]}), False),
    (
        "suffix ignore case",
        _detail({"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}),
        True,
    ),
    # equals-ignore-case
    ("equals-ignore-case", _detail({"state": [{"equals-ignore-case": "TERMINATED"}]}), True),
    ("equals-ignore-case miss", _detail({"state": [{"equals-ignore-case": "TERMINATE"}]}), False),
    # anything-but
    ("anything-but string", _detail({"state": [{"anything-but": "initializing"}]}), True),
    ("anything-but string excluded", _detail({"state": [{"anything-but": "terminated"}]}), False),
    ("anything-but number", _detail({"c-count": [{"anything-but": 5}]}), False),
    ("anything-but number list", _detail({"c-count": [{"anything-but": [1, 2, 3]}]}), True),
    (
        "anything-but string list",
        _detail({"state": [{"anything-but": ["stopped", "terminated"]}]}),
        False,
    ),
    ("anything-but missing field", _detail({"nope": [{"anything-but": "x"}]}), False),
    ("anything-but prefix", _detail({"state": [{"anything-but": {"prefix": "init"}}]}), True),
    (
        "anything-but prefix excluded",
        _detail({"state": [{"anything-but": {"prefix": "term"}}]}),
        False,
    ),
    (
        "anything-but suffix excluded",
        _detail({"FileName": [{"anything-but": {"suffix": ".PNG"}}]}),
        False,
    ),
    (
        "anything-but ignore case excluded",
        _detail({"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}),
        False,
    ),
    (
        "anything-but ignore case list",
        _detail({"state": [{"anything-but": {"equals-ignore-case": ["A", "B"]}}]}),
        True,
    ),
    (
        "anything-but wildcard excluded",
        _detail({"FileName": [{"anything-but": {"wildcard": "*.PNG"}}]}),
        False,
    ),
    (
        "anything-but wildcard list",
        _detail({"FileName": [{"anything-but": {"wildcard": ["*.jpg", "*.gif"]}}]}),
        True,
    ),
    (
        "anything-but over an array: another element",
        _detail({"tags": [{"anything-but": "prod"}]}),
        True,
    ),
    # numeric
    ("numeric range", _detail({"c-count": [{"numeric": [">", 0, "<=", 5]}]}), True),
    ("numeric open top", _detail({"c-count": [{"numeric": [">", 0, "<", 5]}]}), False),
    ("numeric less", _detail({"d-count": [{"numeric": ["<", 10]}]}), True),
    ("numeric equals float", _detail({"x-limit": [{"numeric": ["=", 3.018e2]}]}), True),
    ("numeric >=", _detail({"x-limit": [{"numeric": [">=", 301.8]}]}), True),
    ("numeric skips strings", _detail({"quoted": [{"numeric": ["=", 5]}]}), False),
    # exists
    ("exists true", _detail({"state": [{"exists": True}]}), True),
    ("exists true on missing", _detail({"nope": [{"exists": True}]}), False),
    ("exists false on missing", _detail({"nope": [{"exists": False}]}), True),
    ("exists false on present", _detail({"state": [{"exists": False}]}), False),
    ("exists true on null", _detail({"Location": [{"exists": True}]}), True),
    ("exists only looks at leaves", _detail({"nested": [{"exists": True}]}), False),
    ("exists false on empty array", _detail({"empty": [{"exists": False}]}), True),
    ("exists false under a missing object", {"nothing": {"here": [{"exists": False}]}}, True),
    # wildcard
    ("wildcard", _detail({"FileName": [{"wildcard": "image.*"}]}), True),
    ("wildcard middle", {"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]}, True),
    ("wildcard miss", _detail({"FileName": [{"wildcard": "*.jpg"}]}), False),
    ("wildcard escaped star", _detail({"FileName": [{"wildcard": "image\\*PNG"}]}), False),
    # cidr
    ("cidr", _detail({"source-ip": [{"cidr": "10.0.0.0/24"}]}), True),
    ("cidr miss", _detail({"source-ip": [{"cidr": "10.0.1.0/24"}]}), False),
    ("cidr ipv6 vs ipv4", _detail({"source-ip": [{"cidr": "2001:db8::/32"}]}), False),
    # $or
    (
        "$or one branch",
        _detail({"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [3]}]}),
        True,
    ),
    ("$or no branch", _detail({"$or": [{"c-count": [1]}, {"d-count": [1]}]}), False),
    (
        "$or at the top",
        {"source": ["aws.ec2"], "$or": [{"region": ["x"]}, {"detail": {"state": ["terminated"]}}]},
        True,
    ),
    (
        "$or nested in $or",
        {"$or": [{"source": ["x"]}, {"$or": [{"region": ["y"]}, {"account": ["111122223333"]}]}]},
        True,
    ),
    # mixed alternatives in one field
    ("mixed list", _detail({"state": ["running", {"prefix": "term"}]}), True),
]


@pytest.mark.parametrize(("case", "pattern", "expected"), MATCHING, ids=[c[0] for c in MATCHING])
def test_matching(case: str, pattern: dict[str, Any], expected: bool) -> None:
    assert matches(compile_pattern(json.dumps(pattern)), EC2_EVENT) is expected, case


def test_batch_failed_job_pattern_from_the_guide() -> None:
    pattern = compile_pattern(
        '{"detail-type": ["Batch Job State Change"], "source": ["aws.batch"],'
        ' "detail": {"status": ["FAILED"]}}'
    )
    event = {
        "detail-type": "Batch Job State Change",
        "source": "aws.batch",
        "detail": {"status": "FAILED", "jobId": "1"},
    }
    assert matches(pattern, event)
    assert not matches(pattern, {**event, "detail": {"status": "SUCCEEDED"}})


INVALID: list[tuple[Any, str]] = [
    ("not json", "Invalid JSON"),
    ([], "Filter is not an object"),
    ({}, "Empty objects are not allowed"),
    ({"source": "aws.ec2"}, '"source" must be an object or an array'),
    ({"source": []}, "Empty arrays are not allowed"),
    ({"detail": {}}, "Empty objects are not allowed"),
    ({"source": [["a"]]}, "Match value must be String, number, true, false, or null"),
    ({"source": [{}]}, "Match expression name not found"),
    ({"source": [{"prefx": "a"}]}, "Unrecognized match type prefx"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "Only one key allowed in match expression"),
    ({"source": [{"prefix": 1}]}, "prefix match pattern must be a string"),
    ({"source": [{"suffix": None}]}, "suffix match pattern must be a string"),
    ({"source": [{"equals-ignore-case": 1}]}, "equals-ignore-case match pattern must be a string"),
    ({"source": [{"wildcard": 1}]}, "wildcard match pattern must be a string"),
    ({"source": [{"wildcard": "a**b"}]}, "Consecutive wildcard characters at pos 2"),
    ({"source": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 1"),
    ({"n": [{"numeric": 5}]}, "Value of numeric must be an array."),
    ({"n": [{"numeric": ["!", 5]}]}, "Unrecognized numeric range operator: !"),
    ({"n": [{"numeric": [">", "5"]}]}, "Value of > must be numeric"),
    ({"n": [{"numeric": ["=", 5, "<", 6]}]}, "Too many elements in numeric expression"),
    ({"n": [{"numeric": [">", 5, ">", 6]}]}, "Bad numeric range operator: >"),
    ({"n": [{"numeric": [">", 5, "<", 6, 7]}]}, "Too many terms in numeric range expression"),
    ({"n": [{"numeric": [">", 6, "<", 5]}]}, "Bottom must be less than top"),
    ({"n": [{"numeric": [5]}]}, "Invalid member in numeric match: 5"),
    ({"n": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
    ({"n": [{"cidr": "10.0.0.1"}]}, "Malformed CIDR, one '/' required"),
    ({"n": [{"cidr": "10.0.0.300/24"}]}, "Nonstandard IP address: 10.0.0.300"),
    (
        {"n": [{"anything-but": None}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        {"n": [{"anything-but": ["a", 1]}]},
        "Inside anything but list, either all values are number or string, "
        "mixed type is not supported",
    ),
    (
        {"n": [{"anything-but": [True]}]},
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    ({"n": [{"anything-but": {"numeric": [">", 1]}}]}, "Unsupported anything-but pattern: numeric"),
    ({"n": [{"anything-but": {"prefix": ""}}]}, "Null prefix/suffix not allowed"),
    ({"n": [{"anything-but": {"suffix": 1}}]}, "prefix/suffix match pattern must be a string"),
    ({"$or": {"a": ["b"]}}, "It must be an Array followed with $or."),
    ({"$or": [{"a": ["b"]}]}, "There must have at least 2 Objects in $or relationship."),
    ({"$or": [{"a": ["b"]}, "c"]}, "Only JSON object is allowed in array of $or relationship."),
]


def test_deep_nesting_is_refused_not_crashed_on() -> None:
    for depth in (101, 5000):
        with pytest.raises(InvalidEventPattern):
            compile_pattern('{"a":' * depth + '["x"]' + "}" * depth)
    assert compile_pattern('{"a":' * 100 + '["x"]' + "}" * 100)


@pytest.mark.parametrize(("pattern", "reason"), INVALID, ids=[c[1] for c in INVALID])
def test_invalid_patterns_give_aws_reasons(pattern: Any, reason: str) -> None:
    text = pattern if isinstance(pattern, str) else json.dumps(pattern)
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(text)
    assert caught.value.reason.startswith(reason)
    assert caught.value.message == f"Event pattern is not valid. Reason: {caught.value.reason}"
