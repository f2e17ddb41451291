"""What the server keeps of layers: across a restart a function keeps the content of a
deleted layer version it uses and content nothing uses is dropped; configurations stored
before layers existed lose the ARNs they echoed; and how layers merge on disk."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.functions import Lambda
from batchyard.functions.code import check_zip
from batchyard.functions.opt import assemble, opt_dir
from batchyard.store import Store
from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.functions.support import ROLE, zip_of

OWNER = Caller("123456789012", "us-east-1")
SETTINGS = {"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"}
IMPORTER = "import kept\ndef handler(event, context):\n    return kept.VALUE\n"


class _Output:
    async def write_lines(self, owner: Caller, group: str, stream: str,
                          lines: Sequence[tuple[int, str]]) -> None:
        pass


def _layer(value: str) -> dict[str, Any]:
    return {"ZipFile": zip_of({"python/kept.py": f"VALUE = {value!r}\n"})}


def test_content_outlives_its_version_while_a_function_uses_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = Settings(data_dir=tmp_path / "data")

    async def before() -> None:
        service = Lambda(store, _Output(), settings)
        used = await service.publish_layer_version(OWNER, "used", _layer("used"), {})
        await service.publish_layer_version(OWNER, "unused", _layer("unused"), {})
        await service.create_function(OWNER, "fn", {**SETTINGS,
                                                    "Layers": [used["LayerVersionArn"]]},
                                      {"ZipFile": zip_of({"app.py": IMPORTER})})
        await service.delete_layer_version(OWNER, "used", 1)
        await service.delete_layer_version(OWNER, "unused", 1)
        await service.stop()

    async def after() -> bytes:
        service = Lambda(store, _Output(), settings)
        await service.start()
        try:
            return (await service.invoke(OWNER, "fn", b"{}")).payload
        finally:
            await service.stop()

    try:
        asyncio.run(before())
        assert store.read_sync(lambda c: c.execute(
            sa.text("SELECT COUNT(*) FROM lambda_layer_content")).scalar_one()) == 2
        assert json.loads(asyncio.run(after())) == "used"
        assert store.read_sync(lambda c: c.execute(
            sa.text("SELECT COUNT(*) FROM lambda_layer_content")).scalar_one()) == 1
    finally:
        store.close()


def test_layer_arns_stored_before_layers_existed_are_dropped(
    old_store: str, tmp_path: Path
) -> None:
    engine = create_store_engine(old_store)
    config = alembic_config()
    zipped = zip_of({"app.py": "def handler(event, context):\n    return 'ran'\n"})
    bundle = check_zip(zipped)
    configuration = {**SETTINGS, "Description": "", "Timeout": 3, "MemorySize": 128,
                     "PackageType": "Zip", "Architectures": ["x86_64"],
                     "EphemeralStorage": {"Size": 512},
                     "Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:echoed:1"]}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "functions@functions_0004")
        connection.execute(sa.text(
            "INSERT INTO lambda_functions (account_id, region, name, arn, config, code, tags, "
            "revision_id, last_modified) VALUES ('123456789012', 'us-east-1', 'old', "
            "'arn:aws:lambda:us-east-1:123456789012:function:old', :config, :code, '{}', 'r1', "
            "'2024-01-01T00:00:00.000+0000')"
        ), {"config": json.dumps(configuration), "code": json.dumps(bundle.summary())})
        connection.execute(sa.text(
            "INSERT INTO lambda_code (account_id, region, name, digest, zip) VALUES "
            "('123456789012', 'us-east-1', 'old', :digest, :zip)"
        ), {"digest": bundle.digest, "zip": zipped})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    engine.dispose()

    store = Store(old_store)

    async def scenario() -> tuple[dict[str, Any], dict[str, int], bytes]:
        service = Lambda(store, _Output(), Settings(data_dir=tmp_path / "data"))
        try:
            return (await service.get_function_configuration(OWNER, "old"),
                    await service.get_function_concurrency(OWNER, "old"),
                    (await service.invoke(OWNER, "old", b"{}")).payload)
        finally:
            await service.stop()

    try:
        described, concurrency, payload = asyncio.run(scenario())
    finally:
        store.close()
    assert "Layers" not in described
    assert concurrency == {}
    assert json.loads(payload) == "ran"


def _zip_with_modes(entries: dict[str, tuple[str, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, (text, mode) in entries.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (mode | (0o040000 if path.endswith("/") else 0o100000)) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


def test_a_later_layer_replaces_files_and_folders_of_an_earlier_one(tmp_path: Path) -> None:
    first = _zip_with_modes({
        "python/mod.py": ("first", 0o644),
        "python/pkg/": ("", 0o777),
        "python/pkg/inner.py": ("first inner", 0o666),
        "bin/tool": ("#!/bin/sh\n", 0o755),
    })
    # A folder where the first has a file, and a file where the first has a folder.
    second = _zip_with_modes({
        "python/mod.py/": ("", 0o755),
        "python/mod.py/x.py": ("second", 0o644),
        "python/pkg": ("now a file", 0o644),
    })
    digests = [check_zip(first).digest, check_zip(second).digest]
    root = assemble(tmp_path, digests, [first, second])
    assert root == opt_dir(tmp_path, digests)
    assert (root / "python" / "mod.py" / "x.py").read_text() == "second"
    assert (root / "python" / "pkg").read_text() == "now a file"
    # Modes are the server's, whatever the zip asked for, but executables stay executable.
    assert stat.S_IMODE((root / "bin" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "python" / "pkg").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "python" / "mod.py").stat().st_mode) == 0o755
    assert stat.S_IMODE(root.parent.stat().st_mode) == 0o711
    # The other order is another directory.
    assert opt_dir(tmp_path, digests[::-1]) != root
    assert assemble(tmp_path, digests, [first, second]) == root
