"""Deployment packages: check a .zip as Lambda does and unpack it where workers run it.

Unpacked code lives in ``<data_dir>/functions/<name>/<sha256 hex>/``; the zip itself is kept in
the store, so a missing directory (a fresh replica, a cleaned disk) is unpacked again on use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from batchyard.functions.configuration import invalid

MAX_UNZIPPED_BYTES = 262_144_000


@dataclass(frozen=True)
class CodeBundle:
    """A checked deployment package."""

    zip_bytes: bytes
    sha256: str
    digest: str

    @property
    def size(self) -> int:
        return len(self.zip_bytes)

    def summary(self) -> dict[str, str | int]:
        """What the configuration document records about the code."""
        return {"sha256": self.sha256, "digest": self.digest, "size": self.size}


def check_zip(zip_bytes: bytes) -> CodeBundle:
    """Accept ``zip_bytes`` when Lambda would: a readable zip within the unzipped limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            total = sum(info.file_size for info in archive.infolist())
            if archive.testzip() is not None:
                raise zipfile.BadZipFile("corrupt member")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    if total > MAX_UNZIPPED_BYTES:
        raise invalid(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    raw = hashlib.sha256(zip_bytes)
    return CodeBundle(zip_bytes, base64.b64encode(raw.digest()).decode(), raw.hexdigest())


def code_root(data_dir: Path) -> Path:
    """Where every function's unpacked code lives."""
    return data_dir / "functions"


def code_dir(data_dir: Path, name: str, digest: str) -> Path:
    """The directory one version of one function's code is unpacked into."""
    return code_root(data_dir) / name / digest


def unpack(data_dir: Path, name: str, digest: str, zip_bytes: bytes) -> Path:
    """Unpack the code once; concurrent callers see either nothing or the whole tree."""
    target = code_dir(data_dir, name, digest)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            archive.extractall(staging)
        os.chmod(staging, 0o755)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def discard(data_dir: Path, name: str) -> None:
    """Remove all of a function's unpacked code."""
    shutil.rmtree(code_root(data_dir) / name, ignore_errors=True)


def prune(data_dir: Path, current: dict[str, set[str]]) -> None:
    """Keep only the unpacked code each function uses now (``current``: name -> digests)."""
    root = code_root(data_dir)
    if not root.is_dir():
        return
    for folder in root.iterdir():
        keep = current.get(folder.name)
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        for child in folder.iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
