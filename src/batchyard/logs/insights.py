"""CloudWatch Logs Insights queries: the language, parsed with lark, and its evaluation.

The commands people run on job logs are supported: ``fields``, ``display``, ``filter``
(comparisons, ``like`` with a string or a ``/regex/``, ``=~``, ``in``, ``and``/``or``/``not``,
arithmetic and a few functions), ``parse`` (a glob pattern with ``*`` or a regex with named
groups), ``stats`` (``count``, ``sum``, ``avg``, ``min``, ``max``, ``count_distinct`` … ``by``
fields or ``bin(5m)``), ``sort``, ``limit`` and ``dedup``. A record's fields are ``@timestamp``,
``@message``, ``@logStream``, ``@log``, ``@ingestionTime``, ``@ptr`` and, for messages that are
JSON objects, their members (nested ones as ``a.b``), as Insights discovers them.

:func:`compile_query` turns a query string into a :class:`Query`; :meth:`Query.run` feeds it
records and returns the result rows, holding no more records in memory than the query's limit
(or, after ``stats``, one row per group).
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import count
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError
from lark.tree import Meta

Record = dict[str, Any]
Expr = Callable[[Record], Any]
Stage = Callable[[Iterator[Record]], Iterator[Record]]

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000

_GRAMMAR = r"""
?start: query
query: command ("|" command)*

?command: "fields"i projection ("," projection)*            -> fields
        | "display"i fieldref ("," fieldref)*                 -> display
        | "filter"i expr                                      -> filter
        | "stats"i aggregate ("," aggregate)* (_BY grouping ("," grouping)*)? -> stats
        | "sort"i sort_key ("," sort_key)*                    -> sort
        | "limit"i INT                                        -> limit
        | "parse"i fieldref? STRING _AS NAME ("," NAME)*      -> parse_glob
        | "parse"i fieldref? REGEX                            -> parse_regex
        | "dedup"i fieldref ("," fieldref)*                   -> dedup

projection: expr (_AS NAME)?
aggregate: NAME "(" agg_arg? ")" (_AS NAME)?
?agg_arg: "*" -> star
        | expr
grouping: expr (_AS NAME)?
sort_key: expr ORDER?

?expr: or_expr
?or_expr: and_expr
        | or_expr _OR and_expr      -> any_of
?and_expr: not_expr
         | and_expr _AND not_expr   -> all_of
?not_expr: _NOT not_expr               -> negate
         | comparison
?comparison: sum
           | sum COMPARE sum                          -> compare
           | sum _LIKE (STRING | REGEX)               -> like
           | sum _NOT _LIKE (STRING | REGEX)          -> not_like
           | sum MATCH REGEX                          -> regex_match
           | sum _IN "[" [literal ("," literal)*] "]" -> member
           | sum _NOT _IN "[" [literal ("," literal)*] "]" -> not_member
?sum: product
    | sum ADD product               -> arithmetic
?product: unary
        | product MUL unary         -> arithmetic
?unary: "-" unary                   -> negative
      | atom
?atom: literal
     | call
     | fieldref
     | "(" expr ")"
call: NAME "(" [expr ("," expr)*] ")"
?literal: STRING   -> string
        | NUMBER   -> number
        | DURATION -> duration
fieldref: FIELD | NAME | QUOTED_FIELD

_BY.2: /by\b/i
_AS.2: /as\b/i
_AND.2: /and\b/i
_OR.2: /or\b/i
_NOT.2: /not\b/i
_LIKE.2: /like\b/i
_IN.2: /in\b/i
ORDER.2: /(asc|desc)\b/i
COMPARE: "<=" | ">=" | "!=" | "=" | "<" | ">"
MATCH.2: "=~"
ADD: "+" | "-"
MUL: "*" | "/" | "%"
DURATION.3: /\d+(ms|s|m|h|d|w|mo|q|y)\b/
NUMBER: /\d+(\.\d+)?/
INT: /\d+/
STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
REGEX: /\/(\\.|[^\/\\])+\/[a-z]*/
FIELD: /@[A-Za-z0-9_.]+/
NAME: /[A-Za-z_][A-Za-z0-9_.\-]*/
QUOTED_FIELD: /`[^`]+`/

%import common.WS
%ignore WS
"""


class QueryError(ValueError):
    """A query that does not parse or cannot run; the message says where and why."""


_DURATION_MS = {
    "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000,
    "mo": 2_592_000_000, "q": 7_776_000_000, "y": 31_536_000_000,
}


def format_timestamp(epoch_ms: int) -> str:
    """``@timestamp`` as Insights prints it: ``2024-01-31 12:00:00.000``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def render(value: Any) -> str:
    """A field's value as GetQueryResults shows it (always a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def discover(message: str) -> Record:
    """The fields Insights discovers in a JSON-object message: members, nested as ``a.b``."""
    if not message.startswith("{"):
        return {}
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        return {}
    found: Record = {}
    if isinstance(document, dict):
        _flatten(document, "", found)
    return found


def _flatten(document: dict[str, Any], prefix: str, into: Record) -> None:
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{name}.", into)
        else:
            into[name] = value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _regex(token: str) -> re.Pattern[str]:
    body, _, flags = token[1:].rpartition("/")
    # Insights writes named groups as (?<name>...), Python as (?P<name>...).
    body = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", body)
    try:
        return re.compile(body, re.IGNORECASE if "i" in flags else 0)
    except re.error as error:
        raise QueryError(f"Invalid regular expression {token}: {error}") from None


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _compare(operator: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    a, b = _number(left), _number(right)
    if a is None or b is None:
        a, b = str(left), str(right)  # type: ignore[assignment]
    return bool({
        "=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b,  # type: ignore[operator]
    }[operator])


def _arith(operator: str, left: Any, right: Any) -> float | None:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return None
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if b == 0:
        return None
    return a / b if operator == "/" else a % b


def _bin(value: Any, width: Any) -> Any:
    number = _number(value)
    if number is None or not width:
        return None
    return int(number // width * width)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "ispresent": lambda v: v is not None,
    "isempty": lambda v: v is None or v == "",
    "isblank": lambda v: v is None or str(v).strip() == "",
    "strlen": lambda v: None if v is None else len(str(v)),
    "toupper": lambda v: None if v is None else str(v).upper(),
    "tolower": lambda v: None if v is None else str(v).lower(),
    "trim": lambda v: None if v is None else str(v).strip(),
    "concat": lambda *values: "".join("" if v is None else render(v) for v in values),
    "abs": lambda v: None if _number(v) is None else abs(_number(v)),  # type: ignore[arg-type]
    "floor": lambda v: None if _number(v) is None else math.floor(_number(v)),  # type: ignore[arg-type]
    "ceil": lambda v: None if _number(v) is None else math.ceil(_number(v)),  # type: ignore[arg-type]
    "bin": _bin,
}


@dataclass
class _Aggregate:
    """One ``stats`` function: how it folds values and how it is named in the results."""

    name: str
    argument: Expr | None
    label: str
    values: Callable[[], Any]
    fold: Callable[[Any, Any], Any]
    finish: Callable[[Any], Any] = field(default=lambda state: state)


def _aggregate(function: str, argument: Expr | None, label: str) -> _Aggregate:
    kind = function.lower()
    if kind == "count":
        return _Aggregate(kind, argument, label, lambda: 0,
                          lambda state, value: state + (value is not None))
    if kind == "count_distinct":
        return _Aggregate(kind, argument, label, set,
                          lambda state, value: state | ({render(value)} if value is not None
                                                        else set()),
                          len)
    if kind in ("sum", "avg"):
        def fold(state: Any, value: Any) -> Any:
            number = _number(value)
            return state if number is None else (state[0] + number, state[1] + 1)

        done: Callable[[Any], Any] = (
            (lambda s: s[0]) if kind == "sum" else (lambda s: s[0] / s[1] if s[1] else None)
        )
        return _Aggregate(kind, argument, label, lambda: (0.0, 0), fold, done)
    if kind in ("min", "max"):
        better = min if kind == "min" else max

        def fold_extreme(state: Any, value: Any) -> Any:
            number = _number(value)
            if number is None:
                return state
            return number if state is None else better(state, number)

        return _Aggregate(kind, argument, label, lambda: None, fold_extreme)
    raise QueryError(f"Unknown stats function {function}")


@dataclass
class Query:
    """A compiled query: its stages, the fields it shows and its limit.

    ``aggregating`` is the index of the first ``stats`` stage: the records that reach it (or
    the end, without one) are the records the query matched.
    """

    stages: list[Stage]
    shown: list[str] | None
    limit: int
    sorted_: bool
    aggregating: int | None = None

    def run(
        self,
        records: Iterable[Record],
        limit: int | None = None,
        counted: dict[str, int] | None = None,
    ) -> list[Record]:
        """The result rows of the query over ``records`` (newest first unless it sorts);
        ``counted["matched"]`` counts the records it matched."""
        wanted = min(limit or self.limit, self.limit, MAX_LIMIT)
        stream: Iterator[Record] = iter(records)
        for index, stage in enumerate(self.stages):
            if index == self.aggregating and counted is not None:
                stream = _counting(stream, counted)
            stream = stage(stream)
        if self.aggregating is None and counted is not None:
            stream = _counting(stream, counted)
        if self.sorted_:
            return list(_take(stream, wanted))
        ordinal = count()
        newest = heapq.nlargest(
            wanted, ((row.get("@timestamp") or 0, -next(ordinal), row) for row in stream)
        )
        return [row for _, _, row in newest]

    def fields_of(self, row: Record) -> list[tuple[str, Any]]:
        """The ``(field, value)`` pairs of a result row, in the order the query shows them."""
        names = self.shown if self.shown is not None else ["@timestamp", "@message"]
        pairs = [(name, row.get(name)) for name in names if row.get(name) is not None]
        if row.get("@ptr") is not None:
            pairs.append(("@ptr", row["@ptr"]))
        return pairs


def _counting(stream: Iterator[Record], counted: dict[str, int]) -> Iterator[Record]:
    for record in stream:
        counted["matched"] = counted.get("matched", 0) + 1
        yield record


def _take(stream: Iterator[Record], wanted: int) -> Iterator[Record]:
    for number, row in enumerate(stream):
        if number >= wanted:
            return
        yield row


@v_args(inline=True)
class _Compiler(Transformer[Token, Any]):
    """Turns the parse tree into evaluators (expressions) and stages (commands)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.shown: list[str] | None = None
        self.row_limit = DEFAULT_LIMIT
        self.sorted_ = False

    # -- expressions

    def string(self, token: Token) -> Expr:
        text = _unquote(str(token))
        return lambda _record: text

    def number(self, token: Token) -> Expr:
        value = float(token)
        return lambda _record: value

    def duration(self, token: Token) -> Expr:
        amount, unit = re.fullmatch(r"(\d+)([a-z]+)", str(token)).groups()  # type: ignore[union-attr]
        value = int(amount) * _DURATION_MS[unit]
        return lambda _record: value

    def fieldref(self, token: Token) -> tuple[str, Expr]:
        name = str(token).strip("`")
        return name, lambda record: record.get(name)

    def _value(self, item: Any) -> Expr:
        return item[1] if isinstance(item, tuple) else item  # type: ignore[no-any-return]

    def call(self, name: Token, *arguments: Any) -> Expr:
        kind = str(name).lower()
        function = _FUNCTIONS.get(kind)
        if function is None:
            raise QueryError(f"Unknown function {name}")
        evaluators = [self._value(a) for a in arguments if a is not None]
        if kind == "bin":
            # bin(period) buckets @timestamp.
            if len(evaluators) != 1:
                raise QueryError("bin takes one period, e.g. bin(5m)")
            period = evaluators[0]
            return lambda record: _bin(record.get("@timestamp"), period(record))
        return lambda record: function(*(e(record) for e in evaluators))

    def negative(self, operand: Any) -> Expr:
        value = self._value(operand)
        return lambda record: _arith("-", 0, value(record))

    def arithmetic(self, left: Any, operator: Token, right: Any) -> Expr:
        a, b, op = self._value(left), self._value(right), str(operator)
        return lambda record: _arith(op, a(record), b(record))

    def compare(self, left: Any, operator: Token, right: Any) -> Expr:
        a, b, op = self._value(left), self._value(right), str(operator)
        return lambda record: _compare(op, a(record), b(record))

    def not_like(self, subject: Any, pattern: Token) -> Expr:
        test = self.like(subject, pattern)
        return lambda record: not test(record)

    def like(self, subject: Any, token: Token) -> Expr:
        pattern = str(token)
        value = self._value(subject)
        if pattern.startswith("/"):
            compiled = _regex(pattern)

            def test(text: str) -> bool:
                return compiled.search(text) is not None
        else:
            needle = _unquote(pattern)

            def test(text: str) -> bool:
                return needle in text

        def evaluate(record: Record) -> bool:
            found = value(record)
            return found is not None and test(render(found))

        return evaluate

    def regex_match(self, subject: Any, _operator: Token, pattern: Token) -> Expr:
        compiled, value = _regex(str(pattern)), self._value(subject)
        return lambda record: (v := value(record)) is not None and bool(compiled.search(render(v)))

    def not_member(self, subject: Any, *items: Any) -> Expr:
        test = self.member(subject, *items)
        return lambda record: not test(record)

    def member(self, subject: Any, *items: Any) -> Expr:
        value = self._value(subject)
        options = [self._value(item)({}) for item in items if item is not None]

        def evaluate(record: Record) -> bool:
            found = value(record)
            return found is not None and any(_compare("=", found, o) for o in options)

        return evaluate

    def negate(self, operand: Any) -> Expr:
        value = self._value(operand)
        return lambda record: not value(record)

    def all_of(self, left: Any, right: Any) -> Expr:
        a, b = self._value(left), self._value(right)
        return lambda record: bool(a(record)) and bool(b(record))

    def any_of(self, left: Any, right: Any) -> Expr:
        a, b = self._value(left), self._value(right)
        return lambda record: bool(a(record)) or bool(b(record))

    # -- commands

    def _label(self, meta: Meta, alias: Any) -> str:
        """A result column's name: its alias, else the text the query wrote for it."""
        if isinstance(alias, Token):
            return str(alias)
        return " ".join(self.text[meta.start_pos : meta.end_pos].split())

    @v_args(meta=True)
    def projection(self, meta: Meta, children: list[Any]) -> tuple[str, Expr]:
        item = children[0]
        if isinstance(item, tuple) and len(children) == 1:
            return item
        return self._label(meta, children[-1]), self._value(item)

    def fields(self, *projections: tuple[str, Expr]) -> Stage:
        self.shown = [*(self.shown or []), *(name for name, _ in projections
                                             if name not in (self.shown or []))]

        def stage(stream: Iterator[Record]) -> Iterator[Record]:
            for record in stream:
                for name, evaluate in projections:
                    record[name] = evaluate(record)
                yield record

        return stage

    def display(self, *refs: tuple[str, Expr]) -> Stage:
        self.shown = [name for name, _ in refs]
        return lambda stream: stream

    def filter(self, condition: Any) -> Stage:
        test = self._value(condition)
        return lambda stream: (record for record in stream if test(record))

    def limit(self, token: Token) -> Stage:
        wanted = int(token)
        self.row_limit = wanted if self.row_limit == DEFAULT_LIMIT else min(self.row_limit, wanted)
        if not self.sorted_:
            # Unsorted results are the newest ones: Query.run keeps the newest ``row_limit``.
            return lambda stream: stream
        return lambda stream: _take(stream, wanted)

    def parse_glob(self, *items: Any) -> Stage:
        source = items[0] if isinstance(items[0], tuple) else ("@message", None)
        rest = items[1:] if isinstance(items[0], tuple) else items
        pattern, names = _unquote(str(rest[0])), [str(n) for n in rest[1:]]
        parts = [re.escape(p) for p in pattern.split("*")]
        if len(parts) - 1 != len(names):
            raise QueryError(
                f"parse: the pattern has {len(parts) - 1} wildcards but {len(names)} fields"
            )
        compiled = re.compile("(.*?)".join(parts[:-1]) + ("(.*)" if len(parts) > 1 else "")
                              + parts[-1], re.DOTALL)
        return _extract(source[0], compiled, names)

    def parse_regex(self, *items: Any) -> Stage:
        source = items[0] if isinstance(items[0], tuple) else ("@message", None)
        compiled = _regex(str(items[-1]))
        names = list(compiled.groupindex)
        if not names:
            raise QueryError("parse: a regular expression needs named groups (?<name>...)")
        return _extract(source[0], compiled, names)

    @v_args(meta=True)
    def aggregate(self, meta: Meta, children: list[Any]) -> _Aggregate:
        name, rest = children[0], children[1:]
        argument = rest[0] if rest and not isinstance(rest[0], Token) else None
        star = argument == "star"
        evaluator = None if star or argument is None else self._value(argument)
        return _aggregate(str(name), evaluator, self._label(meta, rest[-1] if rest else None))

    def star(self) -> str:
        return "star"

    @v_args(meta=True)
    def grouping(self, meta: Meta, children: list[Any]) -> tuple[str, Expr]:
        return self._label(meta, children[-1]), self._value(children[0])

    def stats(self, *items: Any) -> Stage:
        aggregates = [i for i in items if isinstance(i, _Aggregate)]
        groups = [i for i in items if isinstance(i, tuple)]
        self.shown = [name for name, _ in groups] + [a.label for a in aggregates]
        # Rows after stats have no @timestamp to order by: they come out as the groups do.
        self.sorted_ = True
        bin_names = {name for name, _ in groups if name.lower().startswith("bin(")}

        def stage(stream: Iterator[Record]) -> Iterator[Record]:
            states: dict[tuple[Any, ...], tuple[Record, list[Any]]] = {}
            for record in stream:
                key_values = [evaluate(record) for _, evaluate in groups]
                key = tuple(render(v) if v is not None else None for v in key_values)
                if key not in states:
                    states[key] = (
                        {name: value for (name, _), value in zip(groups, key_values,
                                                                 strict=True)},
                        [a.values() for a in aggregates],
                    )
                row, folded = states[key]
                for index, aggregate in enumerate(aggregates):
                    value = True if aggregate.argument is None else aggregate.argument(record)
                    folded[index] = aggregate.fold(folded[index], value)
            for row, folded in states.values():
                for name in bin_names:
                    if row.get(name) is not None:
                        row[name] = format_timestamp(int(row[name]))
                for aggregate, state in zip(aggregates, folded, strict=True):
                    row[aggregate.label] = aggregate.finish(state)
                yield row

        stage.aggregates = True  # type: ignore[attr-defined]
        return stage

    def sort_key(self, item: Any, order: Token | None = None) -> tuple[Expr, bool]:
        return self._value(item), order is not None and str(order).lower() == "desc"

    def sort(self, *keys: tuple[Expr, bool]) -> Stage:
        self.sorted_ = True

        def stage(stream: Iterator[Record]) -> Iterator[Record]:
            rows = list(stream)
            for evaluate, descending in reversed(keys):
                rows.sort(key=lambda row: _sort_value(evaluate(row)), reverse=descending)
            yield from rows

        return stage

    def dedup(self, *refs: tuple[str, Expr]) -> Stage:
        def stage(stream: Iterator[Record]) -> Iterator[Record]:
            seen: set[tuple[str, ...]] = set()
            for record in stream:
                key = tuple(render(evaluate(record)) for _, evaluate in refs)
                if key not in seen:
                    seen.add(key)
                    yield record

        return stage

    def query(self, *stages: Stage) -> Query:
        aggregating = next(
            (i for i, stage in enumerate(stages) if getattr(stage, "aggregates", False)), None
        )
        return Query(list(stages), self.shown, self.row_limit, self.sorted_, aggregating)


def _sort_value(value: Any) -> tuple[int, Any]:
    number = _number(value)
    if number is not None:
        return (1, number)
    return (0, "") if value is None else (2, render(value))


def _extract(source: str, compiled: re.Pattern[str], names: list[str]) -> Stage:
    def stage(stream: Iterator[Record]) -> Iterator[Record]:
        for record in stream:
            text = record.get(source)
            match = compiled.search(render(text)) if text is not None else None
            if match is not None:
                groups = match.groupdict() if compiled.groupindex else dict(
                    zip(names, match.groups(), strict=False)
                )
                for name in names:
                    record[name] = groups.get(name)
            yield record

    return stage


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False, propagate_positions=True)


def compile_query(text: str) -> Query:
    """The compiled form of Insights query ``text``; QueryError when it does not parse."""
    try:
        tree = _parser().parse(text)
        return _Compiler(text).transform(tree)  # type: ignore[no-any-return]
    except VisitError as error:
        if isinstance(error.orig_exc, QueryError):
            raise error.orig_exc from None
        raise QueryError(f"Query cannot run: {error.orig_exc}") from None
    except LarkError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "syntax error"
        raise QueryError(f"Query syntax error: {first_line}") from None
