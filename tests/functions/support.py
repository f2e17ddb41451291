"""Helpers for the function tests: zips from source text, unique names, creating functions."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def zip_of(files: dict[str, str]) -> bytes:
    """A .zip holding ``files`` (path -> source, dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, textwrap.dedent(source))
    return buffer.getvalue()


def unique(prefix: str) -> str:
    """A function name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(lam: Any, source: str, *, name: str | None = None, handler: str = "app.handler",
           **settings: Any) -> str:
    """Create a python3.12 function from the one module ``app.py``; returns its name."""
    name = name or unique("fn")
    lam.create_function(
        FunctionName=name, Runtime=settings.pop("Runtime", "python3.12"), Role=ROLE,
        Handler=handler, Code={"ZipFile": zip_of({"app.py": source})}, **settings,
    )
    return name


def call(lam: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    """Invoke synchronously; (response, decoded payload)."""
    body = b"" if event is None else json.dumps(event).encode()
    response = lam.invoke(FunctionName=name, Payload=body, **kwargs)
    raw = response["Payload"].read()
    return response, json.loads(raw) if raw else None
