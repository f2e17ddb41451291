"""copy_json: a deep copy of JSON-shaped data."""

from __future__ import annotations

from batchyard.aws.documents import copy_json


def test_copy_is_deep_and_equal() -> None:
    original = {"a": [1, {"b": "c"}], "d": {"e": None, "f": 1.5}, "g": ({"h": True},)}
    copied = copy_json(original)
    assert copied == original
    copied["a"][1]["b"] = "changed"
    copied["d"]["e"] = 0
    copied["g"][0]["h"] = False
    assert original == {"a": [1, {"b": "c"}], "d": {"e": None, "f": 1.5}, "g": ({"h": True},)}
