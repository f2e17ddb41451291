"""``Ref::name`` placeholders in a job's command.

A placeholder is ``Ref::`` followed by a parameter name (letters, digits, ``_``, ``-``); it is
replaced wherever it appears in an argument, so ``--in=Ref::input`` works as well as a whole
``Ref::input`` argument. A placeholder naming no parameter is left as written, as AWS does.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"Ref::([A-Za-z0-9_-]+)")


def substitute(command: list[str], parameters: dict[str, str]) -> list[str]:
    """``command`` with every known ``Ref::name`` replaced by its parameter value."""

    def replace(match: re.Match[str]) -> str:
        return parameters.get(match.group(1), match.group(0))

    return [_PLACEHOLDER.sub(replace, argument) for argument in command]
