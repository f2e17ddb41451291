"""Intrinsic functions (``States.Format(...)`` and friends) for JSONPath-mode states, and the
payload templates whose ``.$`` keys call them or name a path.

A small recursive-descent parser reads the call syntax: string literals in single quotes,
numbers, ``true``/``false``/``null``, paths (``$``, ``$$``, ``$variable``) and nested calls.

The limits are the developer guide's; the causes of States.IntrinsicFailure are our own words,
as AWS's are on no record.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from batchyard.states.asl.errors import IntrinsicFailure
from batchyard.states.asl.paths import PathNotFound, Scope, resolve, resolve_field
from batchyard.states.asl.values import JsonTextError, dumps, loads

_NAMES = (
    "Format",
    "StringToJson",
    "JsonToString",
    "Array",
    "ArrayPartition",
    "ArrayContains",
    "ArrayRange",
    "ArrayGetItem",
    "ArrayLength",
    "ArrayUnique",
    "Base64Encode",
    "Base64Decode",
    "Hash",
    "JsonMerge",
    "MathRandom",
    "MathAdd",
    "StringSplit",
    "UUID",
)
_HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}
# AWS's caps on the text States.Base64Encode/Decode and States.Hash take, and on the array
# States.ArrayRange makes.
_MAX_INPUT_CHARS = 10_000
_MAX_ARRAY_RANGE = 1000
# How many intrinsic functions one field may call, nested ones included.
MAX_NESTED_CALLS = 10


# The only characters a backslash may escape in an intrinsic's string literal (AWS rejects
# the definition for any other, "\\"" included).
_ESCAPABLE = frozenset("'{}\\")


def is_intrinsic(text: str) -> bool:
    """True when a ``.$`` value is an intrinsic function call rather than a path."""
    return isinstance(text, str) and text.startswith("States.")


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class PathArg:
    path: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> IntrinsicFailure:
        return IntrinsicFailure(f"Invalid intrinsic function syntax '{self.text}': {what}")

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> Call:
        self.ws()
        if not self.text.startswith("States.", self.pos):
            raise self.fail("expected a function name")
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "._"
        ):
            self.pos += 1
        name = self.text[start + len("States.") : self.pos]
        if name not in _NAMES:
            raise IntrinsicFailure(f"The intrinsic function 'States.{name}' is not supported")
        self.ws()
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.fail("expected '('")
        self.pos += 1
        args: list[Any] = []
        self.ws()
        if self.pos < len(self.text) and self.text[self.pos] == ")":
            self.pos += 1
            return Call(name, ())
        while True:
            args.append(self.arg())
            self.ws()
            if self.pos >= len(self.text):
                raise self.fail("unterminated argument list")
            ch = self.text[self.pos]
            self.pos += 1
            if ch == ")":
                return Call(name, tuple(args))
            if ch != ",":
                raise self.fail(f"unexpected '{ch}'")

    def arg(self) -> Any:
        self.ws()
        if self.pos >= len(self.text):
            raise self.fail("missing argument")
        ch = self.text[self.pos]
        if ch == "'":
            return Literal(self.string())
        if ch == "$":
            return PathArg(self.path())
        if self.text.startswith("States.", self.pos):
            return self.call()
        return Literal(self.scalar())

    def string(self) -> str:
        # Escapes keep the character after the backslash; "\{" stays escaped for Format.
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                if nxt not in _ESCAPABLE:
                    raise self.fail(f"illegal escape '\\{nxt}'")
                out.append("\\" + nxt if nxt in "{}" else nxt)
                self.pos += 2
                continue
            if ch == "'":
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.fail("unterminated string literal")

    def path(self) -> str:
        # A path runs until a comma or closing parenthesis outside brackets and quotes.
        start = self.pos
        depth = 0
        quote: str | None = None
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                break
            self.pos += 1
        return self.text[start : self.pos].strip()

    def scalar(self) -> Any:
        start = self.pos
        while (
            self.pos < len(self.text)
            and self.text[self.pos] not in ",)"
            and not self.text[self.pos].isspace()
        ):
            self.pos += 1
        token = self.text[start : self.pos]
        if token in ("true", "false", "null"):
            return json.loads(token)
        try:
            return int(token)
        except ValueError:
            pass
        try:
            return float(token)
        except ValueError:
            raise self.fail(f"unexpected token '{token}'") from None


@lru_cache(maxsize=2048)
def parse_intrinsic(text: str) -> Call:
    """Parse an intrinsic call into a tree; raise States.IntrinsicFailure on bad syntax."""
    p = _Parser(text)
    call = p.call()
    p.ws()
    if p.pos != len(text):
        raise p.fail("trailing characters")
    if _calls(call) > MAX_NESTED_CALLS:
        raise p.fail(f"more than {MAX_NESTED_CALLS} intrinsic functions")
    return call


def _calls(node: Any) -> int:
    if not isinstance(node, Call):
        return 0
    return 1 + sum(_calls(a) for a in node.args)


def evaluate_intrinsic(text: str, data: Any, scope: Scope) -> Any:
    """Evaluate an intrinsic function call against the state's data and scope."""
    return _eval(parse_intrinsic(text), data, scope)


def _eval(node: Any, data: Any, scope: Scope) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, PathArg):
        try:
            return resolve(node.path, data, scope)
        except PathNotFound:
            raise IntrinsicFailure(
                f"The JSONPath '{node.path}' could not be found in the input '{dumps(data)}'"
            ) from None
    args = [_eval(a, data, scope) for a in node.args]
    return _FUNCTIONS[node.name](args)


def _need(name: str, args: list[Any], lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        expected = str(lo) if lo == hi else f"{lo} to {hi}"
        raise IntrinsicFailure(
            f"Function States.{name} expects {expected} argument(s) but got {len(args)}"
        )


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int_like(v: Any) -> bool:
    return _is_num(v) and float(v).is_integer()


def java_string(value: Any) -> str:
    """Render a value the way Java's ``toString`` renders JSON nodes in States.Format."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    return dumps(value)


def _format(args: list[Any]) -> str:
    if not args or not isinstance(args[0], str):
        raise IntrinsicFailure("The first argument of States.Format must be a string")
    template, values = args[0], args[1:]
    out: list[str] = []
    i = used = 0
    while i < len(template):
        if template.startswith("\\{", i) or template.startswith("\\}", i):
            out.append(template[i + 1])
            i += 2
        elif template.startswith("{}", i):
            if used >= len(values):
                raise IntrinsicFailure(
                    "Number of arguments in States.Format does not match the number of placeholders"
                )
            out.append(java_string(values[used]))
            used += 1
            i += 2
        else:
            out.append(template[i])
            i += 1
    if used != len(values):
        raise IntrinsicFailure(
            "Number of arguments in States.Format does not match the number of placeholders"
        )
    return "".join(out)


def _string_to_json(args: list[Any]) -> Any:
    _need("StringToJson", args, 1)
    text = args[0]
    if not isinstance(text, str):
        raise IntrinsicFailure("The argument of States.StringToJson must be a string")
    if text.strip() == "":
        return None
    try:
        return loads(text)
    except JsonTextError:
        raise IntrinsicFailure(f"Cannot parse '{text}' as JSON") from None


def _json_to_string(args: list[Any]) -> str:
    _need("JsonToString", args, 1)
    return dumps(args[0])


def _array(args: list[Any]) -> list[Any]:
    return list(args)


def _array_partition(args: list[Any]) -> list[Any]:
    _need("ArrayPartition", args, 2)
    arr, size = args
    if not isinstance(arr, list) or not _is_int_like(size) or size < 1:
        raise IntrinsicFailure("States.ArrayPartition expects an array and a positive chunk size")
    n = int(size)
    return [arr[i : i + n] for i in range(0, len(arr), n)]


def _array_contains(args: list[Any]) -> bool:
    _need("ArrayContains", args, 2)
    arr, item = args
    if not isinstance(arr, list):
        raise IntrinsicFailure("The first argument of States.ArrayContains must be an array")
    return any(_json_equal(x, item) for x in arr)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_num(a) and _is_num(b):
        return float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def array_range(args: list[Any]) -> list[int]:
    """States.ArrayRange(start, end, step) (and JSONata's $range)."""
    _need("ArrayRange", args, 3)
    if not all(_is_int_like(a) for a in args):
        raise IntrinsicFailure("States.ArrayRange expects integer arguments")
    start, end, step = (int(a) for a in args)
    if step == 0:
        raise IntrinsicFailure("The step of States.ArrayRange cannot be 0")
    out = list(range(start, end + (1 if step > 0 else -1), step))
    if len(out) > _MAX_ARRAY_RANGE:
        raise IntrinsicFailure(
            f"States.ArrayRange cannot produce more than {_MAX_ARRAY_RANGE} elements"
        )
    return out


def _array_get_item(args: list[Any]) -> Any:
    _need("ArrayGetItem", args, 2)
    arr, idx = args
    if not isinstance(arr, list) or not _is_int_like(idx):
        raise IntrinsicFailure("States.ArrayGetItem expects an array and an integer index")
    i = int(idx)
    if not 0 <= i < len(arr):
        raise IntrinsicFailure(f"Index {i} is out of bounds for an array of length {len(arr)}")
    return arr[i]


def _array_length(args: list[Any]) -> int:
    _need("ArrayLength", args, 1)
    if not isinstance(args[0], list):
        raise IntrinsicFailure("The argument of States.ArrayLength must be an array")
    return len(args[0])


def _array_unique(args: list[Any]) -> list[Any]:
    _need("ArrayUnique", args, 1)
    if not isinstance(args[0], list):
        raise IntrinsicFailure("The argument of States.ArrayUnique must be an array")
    out: list[Any] = []
    for x in args[0]:
        if not any(_json_equal(x, y) for y in out):
            out.append(x)
    return out


def _base64_argument(name: str, args: list[Any]) -> str:
    _need(name, args, 1)
    text = args[0]
    if not isinstance(text, str):
        raise IntrinsicFailure(f"The argument of States.{name} must be a string")
    return _bounded_text(name, text)


def _bounded_text(name: str, text: str) -> str:
    if len(text) > _MAX_INPUT_CHARS:
        raise IntrinsicFailure(
            f"The input to States.{name} exceeds {_MAX_INPUT_CHARS} characters"
        )
    return text


def _base64_encode(args: list[Any]) -> str:
    return base64.b64encode(_base64_argument("Base64Encode", args).encode()).decode()


def _base64_decode(args: list[Any]) -> str:
    text = _base64_argument("Base64Decode", args)
    try:
        return base64.b64decode(text, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise IntrinsicFailure("Invalid base64 input to States.Base64Decode") from None


def hash_value(data: Any, algorithm: Any) -> str:
    """States.Hash / $hash: hex digest of a string (other JSON values hash their JSON text)."""
    if algorithm not in _HASH_ALGORITHMS:
        raise IntrinsicFailure(
            f"The algorithm '{algorithm}' is not supported: use one of "
            + ", ".join(_HASH_ALGORITHMS)
        )
    text = data if isinstance(data, str) else dumps(data)
    return hashlib.new(_HASH_ALGORITHMS[algorithm], text.encode()).hexdigest()


def _hash(args: list[Any]) -> str:
    _need("Hash", args, 2)
    if args[0] is None:
        raise IntrinsicFailure("The data argument of States.Hash cannot be null")
    if isinstance(args[0], str):
        _bounded_text("Hash", args[0])
    return hash_value(args[0], args[1])


def _json_merge(args: list[Any]) -> dict[str, Any]:
    _need("JsonMerge", args, 3)
    a, b, deep = args
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise IntrinsicFailure("States.JsonMerge expects two JSON objects")
    if deep is not False:
        # AWS only supports the shallow merge; deep mode is rejected.
        raise IntrinsicFailure("States.JsonMerge only supports a shallow merge (false)")
    return {**a, **b}


def java_round(x: float) -> int:
    """Java's Math.round: halves round towards positive infinity."""
    return math.floor(x + 0.5)


def _math_random(args: list[Any]) -> int:
    _need("MathRandom", args, 2, 3)
    if not all(_is_num(a) for a in args):
        raise IntrinsicFailure("States.MathRandom expects numeric arguments")
    lo, hi = int(args[0]), int(args[1])
    rng = random.Random(int(args[2])) if len(args) == 3 else random
    if hi <= lo:
        raise IntrinsicFailure("The end of States.MathRandom must be greater than the start")
    return rng.randrange(lo, hi)


def _math_add(args: list[Any]) -> int:
    _need("MathAdd", args, 2)
    if not all(_is_num(a) for a in args):
        raise IntrinsicFailure("States.MathAdd expects numeric arguments")
    return java_round(args[0]) + java_round(args[1])


def _string_split(args: list[Any]) -> list[str]:
    _need("StringSplit", args, 2)
    text, seps = args
    if not isinstance(text, str) or not isinstance(seps, str):
        raise IntrinsicFailure("States.StringSplit expects two strings")
    # Every character of the separator splits; empty pieces are dropped, as AWS does.
    parts: list[str] = []
    cur: list[str] = []
    for ch in text:
        if ch in seps:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p]


def _uuid(args: list[Any]) -> str:
    _need("UUID", args, 0)
    return str(uuid.uuid4())


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "Format": _format,
    "StringToJson": _string_to_json,
    "JsonToString": _json_to_string,
    "Array": _array,
    "ArrayPartition": _array_partition,
    "ArrayContains": _array_contains,
    "ArrayRange": array_range,
    "ArrayGetItem": _array_get_item,
    "ArrayLength": _array_length,
    "ArrayUnique": _array_unique,
    "Base64Encode": _base64_encode,
    "Base64Decode": _base64_decode,
    "Hash": _hash,
    "JsonMerge": _json_merge,
    "MathRandom": _math_random,
    "MathAdd": _math_add,
    "StringSplit": _string_split,
    "UUID": _uuid,
}


def payload_template(template: Any, data: Any, scope: Scope) -> Any:
    """Evaluate a Parameters / ResultSelector / ItemSelector template.

    Keys ending in ``.$`` take their value from a path or an intrinsic function call; all other
    values are copied as they are, however they look.
    """
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                name = key[:-2]
                if is_intrinsic(value):
                    out[name] = evaluate_intrinsic(value, data, scope)
                else:
                    out[name] = resolve_field(value, data, scope, key)
            else:
                out[key] = payload_template(value, data, scope)
        return out
    if isinstance(template, list):
        return [payload_template(v, data, scope) for v in template]
    return copy.deepcopy(template)


def assign_template(template: dict[str, Any], data: Any, scope: Scope) -> dict[str, Any]:
    """Evaluate a JSONPath-mode Assign block to the variables it sets."""
    assigned: dict[str, Any] = payload_template(template, data, scope)
    return assigned
