"""Walk a request value against a botocore input shape: type-check, convert and constrain it.

The walk turns wire values into Python values (base64 blobs into bytes, timestamps into aware
datetimes), drops members the shape does not know (AWS ignores them), and collects every
violation with the path of the member, in the style of AWS's validation messages.

Nothing that would break a store or a later answer gets through: strings must be valid Unicode
text without NUL (a lone surrogate cannot be encoded, PostgreSQL refuses NUL), integers and
longs must fit Java's 32 and 64 bits, doubles must be finite, timestamps must lie in years 1 to
9999, and the model's lengths, ranges and patterns (translated from Java's regular expression
dialect) hold. Values echoed in messages are made printable ASCII first.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from batchyard.protocol.errors import ValidationFailure

_MAX_REPORTED = 5
# Java's int and long: what AWS's services parse integer and long members into.
_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Year 1 to year 9999, the range of an aware datetime.
_EARLIEST, _LATEST = -62135596800.0, 253402300799.0
# A lone surrogate cannot be encoded as UTF-8; NUL cannot be stored in PostgreSQL text.
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
# An integer in a URI, query string or header (at most 19 digits: a long's).
_DIGITS = re.compile(r"[+-]?\d{1,19}")


class _Walk:
    def __init__(
        self, case_insensitive_enums: frozenset[str] = frozenset(), check_text: bool = True
    ) -> None:
        self.errors: list[str] = []
        self.case_insensitive_enums = case_insensitive_enums
        self.check_text = check_text

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
            if self.value(shape.key, key, f"{path}.key") is None:
                continue
            result[key] = self.value(shape.value, item, f"{path}.{_printable(key)}")
        return result

    def _string(self, shape: Shape, value: Any, path: str, _t: bool) -> Any:
        if not isinstance(value, str):
            self.fail(path, f"Expected a string, got {_json_type(value)}")
            return None
        if self.check_text and _UNSAFE_TEXT.search(value):
            self.fail(path, "Member must contain only valid Unicode characters other than NUL")
            return None
        if not self._length(shape, len(value), path, "Member must have length"):
            return None
        enum: list[str] = getattr(shape, "enum", [])
        # Kept as given: the service echoes it back in the caller's case.
        known = (
            {item.lower() for item in enum}
            if shape.name in self.case_insensitive_enums
            else None
        )
        if enum and value not in enum and (known is None or value.lower() not in known):
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
            if not _DIGITS.fullmatch(value):
                self.fail(path, f"Value '{_clip(value)}' is not an integer")
                return None
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.fail(path, f"Expected an integer, got {_json_type(value)}")
                return None
        low, high = _BOUNDS[shape.type_name]
        if value > high:
            self.fail(path, f"Member must have value less than or equal to {high}")
            return None
        if value < low:
            self.fail(path, f"Member must have value greater than or equal to {low}")
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
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite:
            self.fail(path, "Member must be a finite number")
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
        seconds: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = _seconds(value)
        elif isinstance(value, str):
            seconds = _seconds(value)
            if seconds is None:
                try:
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
                except ValueError:
                    pass
        if seconds is None:
            self.fail(path, f"Expected a timestamp, got {_json_type(value)}")
            return None
        if not _EARLIEST <= seconds <= _LATEST:
            self.fail(path, "Member must be a timestamp between the years 1 and 9999")
            return None
        return datetime.fromtimestamp(seconds, UTC)

    def _length(self, shape: Shape, length: int, path: str, message: str) -> bool:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(path, f"{message} greater than or equal to {low}")
            return False
        if high is not None and length > high:
            self.fail(path, f"{message} less than or equal to {high}")
            return False
        return True

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
            compiled = re.compile(_from_java(source))
        except re.error:
            # A Java-only construct this translation does not know is not enforced.
            compiled = re.compile(".*", re.DOTALL)
        _patterns[source] = compiled
    return compiled


# Java character classes the models use, as the members of a Python character class.
_CLASS_ITEMS = {
    # Letters and numbers: \w adds _, which every class of the models that has them allows.
    "L": "\\w",
    "N": "\\w",
    "Z": " \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000",
    "ASCII": "\\x00-\\x7f",
}


def _from_java(source: str) -> str:
    """A model pattern (Java's dialect) in Python's: ``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` and
    ``\\p{ASCII}`` become their character sets, and a ``-`` after a class escape inside
    brackets is a literal, as Java reads it."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            if source.startswith("p{", i + 1) and "}" in source[i:]:
                end = source.index("}", i)
                items = _CLASS_ITEMS.get(source[i + 3 : end])
                if items is None:
                    raise re.error(f"unknown class {source[i:end + 1]}")
                out.append(items if in_class else f"[{items}]")
                i = end + 1
                continue
            escape = source[i : i + 2]
            out.append(escape)
            i += 2
            if in_class and escape[1] in "wdsWDS" and source.startswith("-", i):
                out.append("\\-")
                i += 1
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _clip(value: str, limit: int = 64) -> str:
    return _printable(value if len(value) <= limit else value[:limit] + "...")


def _printable(value: str) -> str:
    """``value`` safe to echo in a message: non-ASCII and control characters escaped."""
    if value.isascii() and value.isprintable():
        return value
    return value.encode("unicode_escape").decode("ascii")


def _seconds(value: float | str) -> float | None:
    """Epoch seconds of a number or numeric text, None when it is neither (or not finite)."""
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) else None


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
    *,
    check_text: bool = True,
) -> dict[str, Any]:
    """Validate and convert a whole request document; raise ValidationFailure listing problems.

    Enum shapes named in ``case_insensitive_enums`` accept any case and keep the case given
    (some services document their enums as case-insensitive, and echo them as sent). Without
    ``check_text`` strings are not searched for NUL and lone surrogates: for a document whose
    source cannot hold them (see :func:`may_hold_unsafe_text`).
    """
    if shape is None:
        return {}
    walk = _Walk(case_insensitive_enums, check_text)
    result = walk.value(shape, value, "")
    _raise(walk.errors)
    return result or {}


def may_hold_unsafe_text(body: bytes) -> bool:
    """Whether a JSON ``body`` (UTF-8, as the protocol layer reads it) may decode to strings
    with NUL or lone surrogates: only ``\\u`` escapes can write those (the parser refuses raw
    control characters, the UTF-8 decoder raw surrogates), so a body without any, as most SDK
    requests are, needs no search of its strings."""
    return b"\\u" in body


def _raise(errors: list[str]) -> None:
    if not errors:
        return
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    shown = "; ".join(errors[:_MAX_REPORTED])
    raise ValidationFailure(f"{count} validation {noun} detected: {shown}")
