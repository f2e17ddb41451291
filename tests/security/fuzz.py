"""Malformed requests for every operation of a botocore model, as raw HTTP.

For an operation, :func:`cases` builds a plausible request (its required members, with values
that satisfy the model where a few candidates can) and then variants of it: each member, and
each member one level down, replaced by values of the wrong type, out of range, too long, or
not text at all (lone surrogates, NUL), plus bodies no JSON parser takes whole (numbers of
5,000 digits, NaN, nesting thousands deep, bytes that are not UTF-8). Values that JSON cannot
express are written verbatim with :class:`Raw`.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from botocore.model import OperationModel, Shape, StructureShape

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEEP = 3000
BIG_DIGITS = "9" * 5000


@dataclass(frozen=True)
class Raw:
    """JSON text sent as it is (numbers and nesting json.dumps will not write)."""

    text: str
    label: str

    def __repr__(self) -> str:
        return self.label


# (method, path with query, headers, body): one request on the wire.
Request = tuple[str, str, dict[str, str], bytes]


@dataclass
class Case:
    """One request: which member got which value, and the bytes on the wire."""

    operation: str
    member: str
    value: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.operation} {self.member}={self.value}"


LONE = "a\ud800b"
NESTED = Raw("[" * DEEP + "]" * DEEP, f"[[...{DEEP} deep]]")
HUGE_INT = Raw(BIG_DIGITS, "<5000-digit integer>")
# JSON text inside string members (inputs, definitions, patterns, details) that services parse.
NESTED_TEXT = "[" * DEEP + "]" * DEEP
ESCAPED_LONE = '"\\ud800"'  # a JSON string holding a lone surrogate
BIG_TEXT = '{"x": ' + BIG_DIGITS + "}"
# Values the model refuses: the protocol layer must answer each with a validation error.
WRONG_BY_TYPE: dict[str, list[Any]] = {
    "string": [12345, ["a"], {"a": 1}, True, LONE, "nul\x00", "\udfff", "x" * 70_000, NESTED],
    "integer": ["seven", 1.5, 2**31, -(2**31) - 1, 2**63, HUGE_INT, 1e20, True,
                Raw("1e400", "1e400")],
    "long": ["seven", 2**63, -(2**63) - 1, HUGE_INT, 1e20, Raw("NaN", "NaN")],
    "double": ["x", Raw("1e400", "1e400"), Raw("-Infinity", "-Infinity"), HUGE_INT],
    "float": ["x", Raw("1e400", "1e400"), HUGE_INT],
    "boolean": ["yes", 1, [True]],
    "timestamp": [1e20, -1e20, "not a time", "9999-99-99", True, HUGE_INT, "1e400",
                  Raw("1e400", "1e400"), 253402300800],
    "blob": [12, "***not base64***", LONE, ["a"]],
    "list": ["a", 1, {"a": 1}, [None], NESTED, [LONE] * 3],
    "map": ["a", ["a"], {LONE: "v"}, {"k": LONE}, {"k": NESTED}],
    "structure": ["a", 1, [], {"unknown": HUGE_INT}],
}
# Values the model may accept that a service has to cope with.
EDGE_BY_TYPE: dict[str, list[Any]] = {
    "string": ["", " ", "\U0001f642\u202e\ufeff", "../../../etc/passwd", "null", "{",
               NESTED_TEXT, BIG_TEXT, ESCAPED_LONE, '{"a": NaN}', "9" * 400,
               "arn:aws:states:us-east-1:123456789012:stateMachine:", "arn:aws:x", "$", "*"],
    "integer": [0, -1, 2**31 - 1, -(2**31)],
    "long": [0, -1, 2**63 - 1, -(2**63)],
    "double": [0.0, -0.0, 1e308, 5e-324, -1e308],
    "float": [0.0, 3.4e38],
    "boolean": [None],
    "timestamp": [0, -62135596800, 253402300799, "1970-01-01T00:00:00Z"],
    "blob": ["", base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()],
    "list": [[], list(range(2000))],
    "map": [{}, {"": ""}, {"k" * 128: "v" * 256}],
    "structure": [{}],
}
BODIES: list[tuple[str, bytes]] = [
    ("missing required", b"{}"),
    ("not JSON", b'{"a": '),
    ("not an object", b"[1, 2]"),
    ("nested 3000 deep", ("{\"x\": " + NESTED.text + "}").encode()),
    ("5000-digit integer", ("{\"x\": " + BIG_DIGITS + "}").encode()),
    ("NaN", b'{"x": NaN}'),
    ("not UTF-8", b'{"x": "\xff\xfe"}'),
    ("encoded surrogate", b'{"x": "\xed\xa0\x80"}'),
]
_ARN_CANDIDATES = [
    f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:garbage",
    f"arn:aws:states:{REGION}:{ACCOUNT}:activity:garbage",
    f"arn:aws:states:{REGION}:{ACCOUNT}:execution:garbage:garbage",
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:garbage",
    f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/garbage",
    f"arn:aws:events:{REGION}:{ACCOUNT}:rule/garbage",
    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:garbage",
    f"arn:aws:iam::{ACCOUNT}:role/garbage",
]
_CANDIDATES = ["garbage", "garbage-1", "1", "a", "Garbage", "garbage/1", *_ARN_CANDIDATES,
               "rate(1 day)", "{}", "python3.12", "app.handler", "x" * 20]


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _fits(shape: Shape, value: str) -> bool:
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
    if len(value) < low or (high is not None and len(value) > high):
        return False
    pattern = shape.metadata.get("pattern")
    compiled = _compiled(pattern) if pattern else None
    return compiled is None or compiled.fullmatch(value) is not None


def plausible(shape: Shape, depth: int = 0) -> Any:
    """A value of ``shape`` the model accepts where a few candidates can (required members
    only)."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if depth > 8:
            return {}
        return {name: plausible(shape.members[name], depth + 1) for name in shape.required_members}
    if kind == "list":
        low = shape.metadata.get("min", 0)
        return [plausible(shape.member, depth + 1) for _ in range(low)]  # type: ignore[attr-defined]
    if kind == "map":
        return {}
    if kind in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1.0))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return 1_700_000_000
    if kind == "blob":
        return "e30="  # base64 of {}
    enum = getattr(shape, "enum", None)
    if enum:
        return enum[0]
    for candidate in _CANDIDATES:
        if _fits(shape, candidate):
            return candidate
    return "garbage"


def encode(value: Any) -> str:
    """JSON text of ``value``, :class:`Raw` parts verbatim (surrogates as escapes)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(item) for item in value) + "]"
    return json.dumps(value)


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _member_values(member: Shape) -> list[Any]:
    return WRONG_BY_TYPE.get(member.type_name, []) + EDGE_BY_TYPE.get(member.type_name, [])


def _variants(
    shape: StructureShape, base: dict[str, Any]
) -> Iterator[list[tuple[str, Any, dict[str, Any]]]]:
    """Per member (and per member of a member): the (member path, value, document) variants
    of ``base`` with that one member replaced."""
    for name, member in shape.members.items():
        yield [(name, value, {**base, name: value}) for value in _member_values(member)]
        inner_shape: Shape | None = None
        listed = False
        if isinstance(member, StructureShape):
            inner_shape = member
        elif member.type_name == "list" and isinstance(member.member, StructureShape):  # type: ignore[attr-defined]
            inner_shape = member.member  # type: ignore[attr-defined]
            listed = True
        if not isinstance(inner_shape, StructureShape):
            continue
        given = base.get(name)
        if listed and isinstance(given, list) and given and isinstance(given[0], dict):
            inner_base = given[0]
        elif not listed and isinstance(given, dict):
            inner_base = given
        else:
            inner_base = plausible(inner_shape)
        if listed:
            # Items with only their required members (often none: [{}]).
            yield [(f"{name}[0]", [inner_base], {**base, name: [inner_base]}),
                   (f"{name}[0]", [inner_base] * 3, {**base, name: [inner_base] * 3})]
        for inner, inner_member in inner_shape.members.items():
            variants = []
            for value in _member_values(inner_member):
                document: Any = {**inner_base, inner: value}
                document = [document] if listed else document
                path = f"{name}[0].{inner}" if listed else f"{name}.{inner}"
                variants.append((path, value, {**base, name: document}))
            yield variants


class Builder:
    """Requests of one service's operations, on the wire as its SDK would shape them."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.protocol = model.protocol
        signing = model.signing_name or model.endpoint_prefix
        self.auth = (f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{signing}/"
                     "aws4_request, SignedHeaders=host, Signature=00")

    def request(self, operation: OperationModel, document: dict[str, Any]) -> Request | None:
        """(method, path, headers, body) of ``document``, None when HTTP cannot carry it."""
        headers = {"Authorization": self.auth}
        if self.protocol != "rest-json":
            headers["X-Amz-Target"] = f"{self.model.metadata['targetPrefix']}.{operation.name}"
            headers["Content-Type"] = f"application/x-amz-json-{self.model.metadata['jsonVersion']}"
            return "POST", "/", headers, encode(document).encode()
        shape = operation.input_shape
        uri = operation.http["requestUri"]
        path, _, fixed_query = uri.partition("?")
        query = [fixed_query] if fixed_query else []
        body_members: dict[str, Any] = {}
        payload = shape.serialization.get("payload") if shape is not None else None
        raw_payload: bytes | None = None
        for name, value in document.items():
            member = shape.members.get(name) if shape is not None else None
            if member is None:
                body_members[name] = value
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                text = _text(value)
                if text is None or text == "":
                    return None
                greedy = "{" + wire + "+}" in path
                encoded = quote(text.encode("utf-8", "surrogatepass"), safe="/" if greedy else "")
                path = path.replace("{" + wire + "+}", encoded).replace("{" + wire + "}", encoded)
            elif location == "querystring":
                items = value if isinstance(value, list) else [value]
                for item in items:
                    text = _text(item)
                    if text is None:
                        return None
                    query.append(f"{wire}={quote(text.encode('utf-8', 'surrogatepass'), safe='')}")
            elif location in ("header", "headers"):
                text = _text(value) if location == "header" else None
                if text is None or not _header_safe(text):
                    return None
                headers[wire] = text
            elif name == payload and member.type_name in ("blob", "string"):
                raw_payload = value if isinstance(value, bytes) else (
                    _text(value) or "").encode("utf-8", "surrogatepass")
            elif name == payload:
                body_members = value if isinstance(value, dict) else {"": value}
            else:
                body_members[name] = value
        if "{" in path:
            return None
        target = path + ("?" + "&".join(query) if query else "")
        if len(target) > 60_000:
            return None  # more than an HTTP client sends (the server answers 414 past 16 KiB)
        if raw_payload is not None:
            return operation.http["method"], target, headers, raw_payload
        body = encode(body_members).encode() if body_members or self._has_body(operation) else b""
        if body:
            headers["Content-Type"] = "application/json"
        return operation.http["method"], target, headers, body

    @staticmethod
    def _has_body(operation: OperationModel) -> bool:
        shape = operation.input_shape
        return shape is not None and any(
            "location" not in m.serialization for m in shape.members.values()
        )

    def raw_body(self, operation: OperationModel, body: bytes) -> Request | None:
        """``body`` sent where ``operation``'s JSON body goes."""
        shape = operation.input_shape
        request = self.request(operation, plausible(shape) if shape is not None else {})
        if request is None:
            return None
        method, target, headers, _ = request
        if self.protocol == "rest-json":
            headers["Content-Type"] = "application/json"
        return method, target, headers, body


def _text(value: Any) -> str | None:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _header_safe(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return text.isprintable() and text == text.strip() and 0 < len(text) < 8000


def cases(
    builder: Builder, operation: OperationModel, limit: int, seed: int,
    base: dict[str, Any] | None = None, unique: str | None = None,
) -> list[Case]:
    """Up to ``limit`` member variants of ``operation`` of ``base`` (by default a plausible
    request), taken in turn from each member so every member gets some (chosen with
    ``seed``), then the bodies no parser takes. Member ``unique`` (a new resource's name)
    gets a name of its own in each variant, so that each one can create its resource."""
    shape = operation.input_shape
    found: list[Case] = []
    if shape is not None:
        base = plausible(shape) if base is None else base
        shuffle = random.Random(seed).shuffle
        per_member = [variants for variants in _variants(shape, base) if variants]
        for variants in per_member:
            shuffle(variants)
        while per_member and len(found) < limit:
            for variants in list(per_member):
                if not variants:
                    per_member.remove(variants)
                    continue
                path, value, document = variants.pop()
                if unique is not None and path != unique:
                    document = {**document, unique: f"fz-{seed}-{len(found)}"}
                request = builder.request(operation, document)
                if request is not None:
                    found.append(Case(operation.name, path, describe(value), *request))
                if len(found) >= limit:
                    break
    for label, body in BODIES:
        request = builder.raw_body(operation, body)
        if request is not None:
            found.append(Case(operation.name, "<body>", label, *request))
    return found
