"""Parse requests into operation input and serialize output and errors, per wire protocol.

Both protocols share JSON bodies; rest-json also binds members to the URI, query string and
headers, and may send one member as the raw payload.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import unquote

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from batchyard.protocol import eventstream
from batchyard.protocol.errors import ServiceError, ValidationFailure
from batchyard.protocol.validate import convert_value, may_hold_unsafe_text, validate_input


class MalformedRequest(ServiceError):
    """A body that is not the JSON document the protocol requires."""

    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message, status=400)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Built once: json.loads with any option builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _load_json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        # Strict UTF-8 (json.loads would also take UTF-16 and UTF-32, and encoded surrogates).
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("Request body is not valid JSON: it is not UTF-8 text") from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValidationFailure("Request body is nested too deeply") from None
    except ValueError:
        # Python refuses integers of more than 4,300 digits; NaN and Infinity are not JSON.
        raise ValidationFailure("Request body holds a number out of any member's range") from None


def parse_request(
    operation: OperationModel,
    body: bytes,
    *,
    path_params: Mapping[str, str] | None = None,
    query: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    case_insensitive_enums: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Turn one HTTP request into the validated input of ``operation``."""
    shape = operation.input_shape
    if shape is None:
        return {}
    check_text = may_hold_unsafe_text(body)
    if operation.metadata["protocol"] != "rest-json":
        loaded = _load_json(body)
        if not isinstance(loaded, dict):
            raise MalformedRequest("Request body must be a JSON object")
        return validate_input(shape, loaded, case_insensitive_enums, check_text=check_text)

    document: dict[str, Any] = {}
    payload = shape.serialization.get("payload")
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string"):
            if body:
                is_blob = member.type_name == "blob"
                document[payload] = body if is_blob else body.decode("utf-8", "replace")
        else:
            loaded = _load_json(body)
            if loaded:
                document[payload] = loaded
    else:
        loaded = _load_json(body)
        if not isinstance(loaded, dict):
            raise MalformedRequest("Request body must be a JSON object")
        document.update(loaded)

    path_params = path_params or {}
    query = query or {}
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        raw: Any = None
        if location == "uri":
            raw = path_params.get(wire_name)
            raw = unquote(raw) if raw is not None else None
        elif location == "querystring":
            if member.type_name == "list":
                raw = query.get(wire_name)
            elif member.type_name == "map":
                raw = {k: v[-1] for k, v in query.items()} or None
            elif wire_name in query:
                raw = query[wire_name][-1]
        elif location == "header":
            raw = lowered.get(wire_name.lower())
            if raw is not None and member.metadata.get("jsonvalue"):
                raw = _decode_json_header(raw, wire_name)
        elif location == "headers":
            prefix = wire_name.lower()
            raw = {k[len(prefix):]: v for k, v in lowered.items() if k.startswith(prefix)} or None
        else:
            continue
        if raw is not None:
            document[name] = _from_text(member, raw, name)
            # Text from the URI, query or headers is searched whatever the body holds.
            check_text = True
    return validate_input(shape, document, case_insensitive_enums, check_text=check_text)


def _decode_json_header(raw: str, name: str) -> str:
    try:
        return base64.b64decode(raw).decode("utf-8")
    except ValueError:
        raise ValidationFailure(f"Header {name} is not base64-encoded JSON") from None


def _from_text(member: Shape, raw: Any, path: str) -> Any:
    if isinstance(member, ListShape) and isinstance(raw, list):
        return [convert_value(member.member, item, path, from_text=True) for item in raw]
    if member.type_name in ("integer", "long", "double", "float", "boolean", "timestamp"):
        return convert_value(member, raw, path, from_text=True)
    return raw


_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@cache
def attribute_name(member: str) -> str:
    """The dataclass field that holds output member ``member``: ``logGroupName`` ->
    ``log_group_name``, ``NextToken`` -> ``next_token``.

    A dataclass spells a member this rule gets wrong in its ``WIRE_NAMES`` class attribute
    (member name -> field name).
    """
    return _WORD.sub("_", member).lower()


def members_of(shape: StructureShape, value: Any) -> dict[str, Any]:
    """The output members of a dataclass ``value`` by member name (None ones left out); a
    mapping is returned as it is."""
    if not hasattr(value, "__dataclass_fields__"):
        return dict(value)
    aliases: Mapping[str, str] = getattr(value, "WIRE_NAMES", {})
    found = {}
    for name in shape.members:
        item = getattr(value, aliases.get(name) or attribute_name(name), None)
        if item is not None:
            found[name] = item
    return found


def _to_wire(shape: Shape | None, value: Any) -> Any:
    if value is None:
        return None
    if shape is None:
        return value
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        members = shape.members
        if hasattr(value, "__dataclass_fields__"):
            value = members_of(shape, value)
        out = {}
        for name, item in value.items():
            member = members.get(name)
            if member is None or item is None:
                continue
            out[name] = _to_wire(member, item)
        return out
    if isinstance(shape, ListShape):
        return [_to_wire(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _to_wire(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else value
    if kind == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode("ascii")
    if kind in ("double", "float") and isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class Response:
    """A serialized response: status, headers and body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def _content_type(operation_protocol: str, json_version: str | None) -> str:
    if operation_protocol == "rest-json":
        return "application/json"
    return f"application/x-amz-json-{json_version or '1.0'}"


Events = AsyncIterator[tuple[str, object]]


class StreamedResponse:
    """A response whose body is sent a piece at a time, as the pieces come."""

    __slots__ = ("chunks", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], chunks: AsyncIterator[bytes]) -> None:
        self.status = status
        self.headers = headers
        self.chunks = chunks


def serialize_stream(operation: OperationModel, result: object) -> StreamedResponse:
    """Serialize the output of an operation whose output streams events (json protocol).

    The handler's output holds an async iterator of ``(event name, event)`` pairs in its
    event stream member; each becomes an event stream message, after the
    ``initial-response`` event botocore reads first. A ServiceError the iterator raises
    whose code is one of the stream's modelled exceptions ends the stream with it.
    """
    shape = operation.output_shape
    stream_shape = operation.get_event_stream_output()
    assert isinstance(shape, StructureShape) and isinstance(stream_shape, StructureShape)
    member = next(name for name, m in shape.members.items() if m is stream_shape)
    given = members_of(shape, result)
    events: Events = given.pop(member)
    initial = _dumps(_to_wire(shape, given))

    async def chunks() -> AsyncIterator[bytes]:
        yield eventstream.event("initial-response", initial)
        try:
            async for name, value in events:
                yield eventstream.event(name, _dumps(_to_wire(stream_shape.members[name], value)))
        except ServiceError as error:
            if error.code not in stream_shape.members:
                raise
            yield eventstream.exception(error.code, _dumps({"message": error.message}))

    return StreamedResponse(200, {"Content-Type": eventstream.CONTENT_TYPE}, chunks())


def serialize_output(operation: OperationModel, result: object) -> Response:
    """Serialize a handler's return value (a dataclass, a mapping or None) as the operation's
    output shape."""
    meta = operation.metadata
    headers = {"Content-Type": _content_type(meta["protocol"], meta.get("jsonVersion"))}
    shape: StructureShape | None = operation.output_shape
    result = members_of(shape, result) if shape is not None and result is not None else {}
    status = int(operation.http.get("responseCode", 200))
    if shape is None:
        return Response(status, headers, b"{}" if meta["protocol"] != "rest-json" else b"")
    if meta["protocol"] != "rest-json":
        return Response(status, headers, _dumps(_to_wire(shape, result)))

    body_members: dict[str, Any] = {}
    payload_name = shape.serialization.get("payload")
    payload: bytes | None = None
    for name, member in shape.members.items():
        if name not in result or result[name] is None:
            continue
        value = result[name]
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "header":
            headers[wire_name] = _header_text(member, value)
        elif location == "headers":
            for key, item in value.items():
                headers[f"{wire_name}{key}"] = str(item)
        elif location == "statusCode":
            status = int(value)
        elif name == payload_name:
            if member.type_name == "blob":
                payload = value if isinstance(value, bytes) else str(value).encode()
            elif member.type_name == "string":
                payload = str(value).encode()
            else:
                payload = _dumps(_to_wire(member, value))
        else:
            body_members[name] = value
    if payload_name:
        return Response(status, headers, payload or b"")
    if status == 204:
        # HTTP forbids a body on 204 (e.g. Lambda's DeleteFunction answers 204 No Content).
        return Response(status, headers, b"")
    return Response(status, headers, _dumps(_to_wire(shape, body_members)))


def _header_text(member: Shape, value: Any) -> str:
    if member.type_name == "boolean":
        return "true" if value else "false"
    if member.type_name == "timestamp" and isinstance(value, datetime):
        return value.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if member.metadata.get("jsonvalue"):
        return base64.b64encode(json.dumps(value).encode()).decode()
    return str(value)


def serialize_error(
    protocol: str, json_version: str | None, error: ServiceError, status: int, request_id: str
) -> Response:
    """Serialize an error in the shape botocore's parsers read (code in header and body)."""
    body: dict[str, Any] = {"__type": error.code, "message": error.message}
    body.update({k: v for k, v in error.fields.items() if v is not None})
    headers = {
        "Content-Type": _content_type(protocol, json_version),
        "x-amzn-ErrorType": error.code,
        "x-amzn-RequestId": request_id,
    }
    return Response(status, headers, _dumps(body))


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Text that is not Unicode (a lone surrogate) is written as JSON escapes rather
        # than not at all: every answer serializes.
        return json.dumps(value, separators=(",", ":")).encode("ascii")
