"""Lambda: Python handlers from a zip, run in warm worker processes. :class:`Lambda` is the
service's one door; :class:`FunctionOutput` is the port its functions' logs go out through.

The names are loaded on first use, not on import: the worker bootstrap runs as
``python -m batchyard.functions.bootstrap``, which imports this package, and a function's
cold start must not pay for the server's modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchyard.functions.invocation import InvocationResult, InvocationType
    from batchyard.functions.output import FunctionOutput
    from batchyard.functions.service import Lambda

__all__ = ["FunctionOutput", "InvocationResult", "InvocationType", "Lambda"]

_HOMES = {
    "FunctionOutput": "batchyard.functions.output",
    "InvocationResult": "batchyard.functions.invocation",
    "InvocationType": "batchyard.functions.invocation",
    "Lambda": "batchyard.functions.service",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
