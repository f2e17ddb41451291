"""A function's ``/opt``: its layers unpacked, in the order it lists them, into one directory.

As in Lambda, each layer is merged over the ones before it, so a later layer's file replaces
an earlier layer's file at the same path. The directory is named by the layers' digests, in
``<work_dir>/layers/<sha256 of the digests>/``, so functions with the same layers in the same
order share it; it is rebuilt from the store on use, and dropped when the server starts.

Everything in it belongs to the server, directories 0755 and files 0644 (0755 when the zip
marks them executable): workers, under uids of their own, read and run it but cannot change
it. The parent is 0711, so a worker cannot list which other layer sets exist.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from batchyard.functions.code import entry_parts, staged


def layers_root(work_dir: Path) -> Path:
    """Where every assembled ``/opt`` lives."""
    return work_dir / "layers"


def opt_dir(work_dir: Path, digests: Sequence[str]) -> Path:
    """The directory the layers with these content ``digests``, in this order, unpack into."""
    key = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    return layers_root(work_dir) / key


def _merge(archive: zipfile.ZipFile, root: Path) -> None:
    for entry in archive.infolist():
        parts = entry_parts(entry.filename)
        if not parts:
            continue
        # A later layer's entry replaces what an earlier one left at its path or above it.
        for depth in range(1, len(parts)):
            above = root.joinpath(*parts[:depth])
            if above.is_file():
                above.unlink()
        path = root.joinpath(*parts)
        if entry.is_dir():
            if path.exists() and not path.is_dir():
                path.unlink()
            path.mkdir(parents=True, exist_ok=True)
            continue
        if path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry) as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        path.chmod(0o755 if (entry.external_attr >> 16) & 0o111 else 0o644)


def assemble(work_dir: Path, digests: Sequence[str], zips: Sequence[bytes]) -> Path:
    """Unpack ``zips`` (the layers' contents, in order) once; concurrent callers see either
    nothing or the whole tree."""
    target = opt_dir(work_dir, digests)
    if target.is_dir():
        return target
    root = layers_root(work_dir)
    if not root.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o711)
    with staged(target, ".assemble-") as staging:
        for data in zips:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                _merge(archive, staging)
        for folder, _, _ in os.walk(staging):
            os.chmod(folder, 0o755)
    return target


def discard_all(work_dir: Path) -> None:
    """Drop every assembled ``/opt`` (at start: no worker uses one any more)."""
    shutil.rmtree(layers_root(work_dir), ignore_errors=True)
