"""Deployment packages: check a .zip as Lambda does and unpack it where workers run it.

Unpacked code lives in ``<work_dir>/functions/<account>/<region>/<name>/<sha256 hex>/`` (the
middle three parts are the function's key; ``work_dir`` is the settings' one, which workers
can reach); the zip itself is kept in the store, so a missing
directory (a fresh replica, a cleaned disk) is unpacked again on use.

A package is checked before it is stored: it must unzip, fit the unzipped limit and unpack
onto a file system (no entry both a file and a directory, no name a file system refuses), so
that code accepted once can always be run.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from batchyard.functions.configuration import invalid

MAX_UNZIPPED_BYTES = 262_144_000
# What Linux file systems take for one name, and a path short enough to sit under any data
# directory within PATH_MAX.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 3072
_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


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


def entry_parts(name: str) -> tuple[str, ...]:
    """The path a zip entry is extracted to, as zipfile sanitizes it (leading "/", "." and
    "..")."""
    return tuple(part for part in name.split("/") if part not in ("", ".", ".."))


def layout_problem(entries: list[zipfile.ZipInfo]) -> str | None:
    """Why ``entries`` cannot be unpacked onto a file system, or None when they can."""
    files: dict[tuple[str, ...], str] = {}
    folders: set[tuple[str, ...]] = set()
    for entry in entries:
        parts = entry_parts(entry.filename)
        encoded = [part.encode("utf-8", "surrogateescape") for part in parts]
        if any(len(part) > MAX_NAME_BYTES for part in encoded):
            return f"The name of entry '{entry.filename}' is longer than {MAX_NAME_BYTES} bytes."
        if sum(len(part) + 1 for part in encoded) > MAX_PATH_BYTES:
            return f"The path of entry '{entry.filename}' is longer than {MAX_PATH_BYTES} bytes."
        folders.update(parts[:depth] for depth in range(len(parts)))
        if entry.is_dir():
            folders.add(parts)
        elif not parts:
            return f"Entry '{entry.filename}' names no file."
        else:
            files.setdefault(parts, entry.filename)
    clashes = sorted(files.keys() & folders)
    if clashes:
        return f"Entry '{files[clashes[0]]}' is a file, and other entries use it as a directory."
    return None


def check_zip(zip_bytes: bytes) -> CodeBundle:
    """Accept ``zip_bytes`` when Lambda would: a readable zip within the unzipped limit that
    unpacks onto a file system."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            total = sum(info.file_size for info in archive.infolist())
            if archive.testzip() is not None:
                raise zipfile.BadZipFile("corrupt member")
            problem = layout_problem(archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise invalid(_UNZIP_FAILED) from None
    if problem is not None:
        raise invalid(f"{_UNZIP_FAILED} {problem}")
    if total > MAX_UNZIPPED_BYTES:
        raise invalid(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    raw = hashlib.sha256(zip_bytes)
    return CodeBundle(zip_bytes, base64.b64encode(raw.digest()).decode(), raw.hexdigest())


def code_root(work_dir: Path) -> Path:
    """Where every function's unpacked code lives."""
    return work_dir / "functions"


def code_dir(work_dir: Path, key: str, digest: str) -> Path:
    """The directory one version of the code of the function ``key`` is unpacked into."""
    return code_root(work_dir) / key / digest


def unpack(work_dir: Path, key: str, digest: str, zip_bytes: bytes) -> Path:
    """Unpack the code once; concurrent callers see either nothing or the whole tree."""
    target = code_dir(work_dir, key, digest)
    if target.is_dir():
        return target
    # Workers (other uids) pass through to their own code but cannot list whose is there.
    for level in [*reversed(target.parent.relative_to(work_dir).parents), target.parent]:
        folder = work_dir / level
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o711)
    with staged(target, ".unpack-") as staging:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            archive.extractall(staging)
        os.chmod(staging, 0o755)
    return target


@contextlib.contextmanager
def staged(target: Path, prefix: str) -> Iterator[Path]:
    """A new folder beside ``target`` to fill, moved to ``target`` once filled: concurrent
    callers see either nothing or the whole tree (one that got there first wins, its tree
    being the same). The folder is removed when filling it fails."""
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    try:
        yield staging
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def discard(work_dir: Path, key: str) -> None:
    """Remove all of the unpacked code of the function ``key``."""
    shutil.rmtree(code_root(work_dir) / key, ignore_errors=True)


def prune(work_dir: Path, current: dict[str, set[str]]) -> None:
    """Keep only the unpacked code each function uses now (``current``: key -> digests).

    Anything else under the code root goes, whatever its depth: code of deleted functions
    and directories of an older layout (the store unpacks them again on use).
    """
    root = code_root(work_dir)
    if not root.is_dir():
        return
    keys = {tuple(key.split("/")) for key in current}
    prefixes = {key[:depth] for key in keys for depth in (1, 2)}

    def sweep(folder: Path, parts: tuple[str, ...]) -> None:
        for child in folder.iterdir():
            path = (*parts, child.name)
            if path in keys:
                keep = current["/".join(path)]
                for version in child.iterdir():
                    if version.name not in keep:
                        shutil.rmtree(version, ignore_errors=True)
            elif path in prefixes and child.is_dir():
                sweep(child, path)
            elif child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    sweep(root, ())
