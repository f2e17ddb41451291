"""Values as the ASL layer handles them: :data:`MISSING` (a field that is absent, as opposed to
present with JSON null), the two query languages, and JSON text as AWS writes it."""

from __future__ import annotations

import json
from typing import Any, Final

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"


class _Missing:
    """Marks a field that is absent, as opposed to present with JSON null."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


# Typed Any: it stands in for any JSON value a definition field may hold.
MISSING: Any = _Missing()


def dumps(value: Any) -> str:
    """Compact JSON as AWS renders payloads in history events and error causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
