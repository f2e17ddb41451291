"""What a target receives: the event, a constant ``Input``, an ``InputPath`` or an
``InputTransformer``, as EventBridge builds it.

Input transformer rules (EventBridge's):

* ``InputPathsMap`` names JSON paths into the event (dot notation, array indices, ``*``);
  the template refers to them as ``<name>``; ``aws.events.*`` names are predefined;
* in a JSON template, a placeholder outside a string is replaced by the value as JSON (a
  string gets its quotes); inside a string it is replaced by the value's text, escaped for
  that string; a template that is not JSON gets the values as plain text;
* a path that selects nothing yields ``null`` outside a string and nothing inside one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from batchyard.events.model import Target

_PLACEHOLDER = re.compile(r"<([^<>\s]+)>")
_PATH_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_NOTHING = object()

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
PREDEFINED = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})


class InvalidInput(ValueError):
    """A target input configuration EventBridge would refuse."""


@dataclass(frozen=True)
class DeliveryContext:
    """What the predefined ``aws.events.*`` variables stand for."""

    rule_arn: str
    rule_name: str
    ingestion_time: str


def check_path(path: str) -> None:
    """Reject a JSON path this module cannot evaluate (raises ``InvalidInput``)."""
    if not path.startswith("$"):
        raise InvalidInput(f"{path} is not a valid JSON path")
    rest = path[1:]
    position = 0
    while position < len(rest):
        match = _SEGMENT.match(rest, position)
        if match is None:
            raise InvalidInput(f"{path} is not a valid JSON path")
        position = match.end()


def select(document: Any, path: str) -> Any:
    """The value at ``path``; a list when the path has a wildcard; ``None`` when absent."""
    found = _select(document, path)
    return None if found is _NOTHING else found


def _select(document: Any, path: str) -> Any:
    check_path(path)
    values = [document]
    fan_out = False
    for match in _SEGMENT.finditer(path[1:]):
        name = match.group(1) or match.group(3) or match.group(4)
        index = match.group(2)
        selected: list[Any] = []
        for value in values:
            if index == "*" or name == "*":
                fan_out = True
                if isinstance(value, list):
                    selected.extend(value)
                elif isinstance(value, dict):
                    selected.extend(value.values())
            elif index is not None:
                if isinstance(value, list) and int(index) < len(value):
                    selected.append(value[int(index)])
            elif isinstance(value, dict) and name in value:
                selected.append(value[name])
        values = selected
    if fan_out:
        return values
    return values[0] if values else _NOTHING


def check_transformer(paths: dict[str, str], template: str) -> None:
    """Validate an ``InputTransformer`` the way PutTargets does (raises ``InvalidInput``)."""
    for name, path in paths.items():
        if not _PATH_KEY.fullmatch(name) or name.lower().startswith("aws"):
            raise InvalidInput(f"InputPathsMap key {name} is not valid")
        check_path(path)
    for name in _PLACEHOLDER.findall(template):
        if name not in paths and name not in PREDEFINED:
            raise InvalidInput(f"InputTemplate contains invalid placeholder {name}")


def target_input(target: Target, event: dict[str, Any], context: DeliveryContext) -> str:
    """The text a target receives for ``event`` under its input configuration."""
    if target.input is not None:
        return target.input
    if target.input_path is not None:
        return json.dumps(select(event, target.input_path))
    transformer = target.input_transformer
    if transformer is not None:
        return transform(
            transformer.input_paths_map or {}, transformer.input_template, event, context
        )
    return json.dumps(event)


def transform(
    paths: dict[str, str], template: str, event: dict[str, Any], context: DeliveryContext
) -> str:
    """Fill ``template``'s placeholders from ``event`` by EventBridge's quoting rules."""
    values: dict[str, Any] = {name: _select(event, path) for name, path in paths.items()}
    values[RULE_ARN] = context.rule_arn
    values[RULE_NAME] = context.rule_name
    values[INGESTION_TIME] = context.ingestion_time
    values[EVENT] = {key: value for key, value in event.items() if key != "detail"}
    values[EVENT_JSON] = event
    stripped = template.lstrip()
    is_json = stripped[:1] in ('{', '[', '"')
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        placeholder = _PLACEHOLDER.match(template, position) if char == "<" else None
        if placeholder and placeholder.group(1) in values:
            value = values[placeholder.group(1)]
            out.append(_render(value, in_string=in_string, as_json=is_json))
            position = placeholder.end()
            continue
        if is_json and char == "\\" and in_string:
            out.append(template[position : position + 2])
            position += 2
            continue
        if is_json and char == '"':
            in_string = not in_string
        out.append(char)
        position += 1
    return "".join(out)


def _render(value: Any, *, in_string: bool, as_json: bool) -> str:
    if value is _NOTHING:
        return "" if in_string or not as_json else "null"
    if not as_json:
        return value if isinstance(value, str) else json.dumps(value)
    if in_string:
        text = value if isinstance(value, str) else json.dumps(value)
        return json.dumps(text)[1:-1]
    return json.dumps(value)
