"""Walk a request value against a botocore input shape: type-check, convert and constrain it.

The walk turns wire values into Python values (base64 blobs into bytes, timestamps into aware
datetimes), drops members the shape does not know (AWS ignores them), and collects every
violation with the path of the member, in the style of AWS's validation messages.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from batchyard.protocol.errors import ValidationFailure

_MAX_REPORTED = 5


class _Walk:
    def __init__(self, case_insensitive_enums: frozenset[str] = frozenset()) -> None:
        self.errors: list[str] = []
        self.case_insensitive_enums = case_insensitive_enums

    def fail(self, path: str, message: str) -> None:
        self.errors.append(f"{message} at '{path}'" if path else message)

    def value(self, shape: Shape, value: Any, path: str, *, from_text: bool = False) -> Any:
        kind = shape.type_name
        convert = getattr(self, f"_{kind}", None)
        if convert is None:
            return value
        return convert(shape, value, path, from_text)

    def _structure(self, shape: StructureShape, value: Any, path: str, _t: bool) -> Any:
        if not isinstance(value, dict):
            self.fail(path, f"Expected a JSON object, got {_json_type(value)}")
            return None
        result: dict[str, Any] = {}
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(_join(path, name), "Member must not be null")
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                continue
            converted = self.value(member, value[name], _join(path, name))
            if converted is not None:
                result[name] = converted
        return result

    def _list(self, shape: ListShape, value: Any, path: str, _t: bool) -> Any:
        if not isinstance(value, list):
            self.fail(path, f"Expected a JSON array, got {_json_type(value)}")
            return None
        self._length(shape, len(value), path, "Member must have length")
        return [self.value(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]

    def _map(self, shape: MapShape, value: Any, path: str, _t: bool) -> Any:
        if not isinstance(value, dict):
            self.fail(path, f"Expected a JSON object, got {_json_type(value)}")
            return None
        self._length(shape, len(value), path, "Member must have length")
        result = {}
        for key, item in value.items():
            self.value(shape.key, key, f"{path}.key")
            result[key] = self.value(shape.value, item, f"{path}.{key}")
        return result

    def _string(self, shape: Shape, value: Any, path: str, _t: bool) -> Any:
        if not isinstance(value, str):
            self.fail(path, f"Expected a string, got {_json_type(value)}")
            return None
        self._length(shape, len(value), path, "Member must have length")
        enum: list[str] = getattr(shape, "enum", [])
        if enum and value not in enum and shape.name in self.case_insensitive_enums:
            value = next((item for item in enum if item.lower() == value.lower()), value)
        if enum and value not in enum:
            allowed = ", ".join(enum)
            self.fail(path, f"Value '{_clip(value)}' must satisfy enum value set: [{allowed}]")
        pattern = shape.metadata.get("pattern")
        if pattern and not _pattern(pattern).fullmatch(value):
            self.fail(
                path, f"Value '{_clip(value)}' must satisfy regular expression pattern: {pattern}"
            )
        return value

    def _integer(self, shape: Shape, value: Any, path: str, from_text: bool) -> Any:
        if from_text and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                self.fail(path, f"Value '{_clip(value)}' is not an integer")
                return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.fail(path, f"Expected an integer, got {_json_type(value)}")
                return None
        self._range(shape, value, path)
        return value

    _long = _integer

    def _double(self, shape: Shape, value: Any, path: str, from_text: bool) -> Any:
        if from_text and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                self.fail(path, f"Value '{_clip(value)}' is not a number")
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"Expected a number, got {_json_type(value)}")
            return None
        self._range(shape, value, path)
        return value

    _float = _double

    def _boolean(self, shape: Shape, value: Any, path: str, from_text: bool) -> Any:
        if from_text and isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            self.fail(path, f"Expected a boolean, got {_json_type(value)}")
            return None
        return value

    def _blob(self, shape: Shape, value: Any, path: str, from_text: bool) -> Any:
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            self.fail(path, f"Expected a base64 string, got {_json_type(value)}")
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self.fail(path, "Value is not valid base64")
            return None

    def _timestamp(self, shape: Shape, value: Any, path: str, from_text: bool) -> Any:
        if isinstance(value, datetime):
            return value
        if isinstance(value, bool):
            value = None
        elif isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            try:
                return datetime.fromtimestamp(float(value), UTC)
            except ValueError:
                pass
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            except ValueError:
                pass
        self.fail(path, f"Expected a timestamp, got {_json_type(value)}")
        return None

    def _length(self, shape: Shape, length: int, path: str, message: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(path, f"{message} greater than or equal to {low}")
        if high is not None and length > high:
            self.fail(path, f"{message} less than or equal to {high}")

    def _range(self, shape: Shape, value: float, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(path, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            self.fail(path, f"Member must have value less than or equal to {high}")


_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(source: str) -> re.Pattern[str]:
    compiled = _patterns.get(source)
    if compiled is None:
        try:
            compiled = re.compile(source)
        except re.error:
            # Some model patterns use Java-only syntax; those are not enforced.
            compiled = re.compile(".*", re.DOTALL)
        _patterns[source] = compiled
    return compiled


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _clip(value: str, limit: int = 64) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def convert_value(shape: Shape, value: Any, path: str, *, from_text: bool = False) -> Any:
    """Convert one value (e.g. a URI or header member) or raise ValidationFailure."""
    walk = _Walk()
    result = walk.value(shape, value, path, from_text=from_text)
    _raise(walk.errors)
    return result


def validate_input(
    shape: StructureShape | None,
    value: Any,
    case_insensitive_enums: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Validate and convert a whole request document; raise ValidationFailure listing problems.

    Enum shapes named in ``case_insensitive_enums`` accept any case and are normalised to the
    model's spelling (some services document their enums as case-insensitive).
    """
    if shape is None:
        return {}
    walk = _Walk(case_insensitive_enums)
    result = walk.value(shape, value, "")
    _raise(walk.errors)
    return result or {}


def _raise(errors: list[str]) -> None:
    if not errors:
        return
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    shown = "; ".join(errors[:_MAX_REPORTED])
    raise ValidationFailure(f"{count} validation {noun} detected: {shown}")
