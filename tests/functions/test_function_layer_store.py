"""What the store keeps of layers across a restart, and the migration that brought them: a
function keeps the content of a deleted layer version it uses, content nothing uses is
dropped at start, and configurations stored before layers existed lose the ARNs they echoed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.functions import Lambda
from batchyard.functions.code import check_zip
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
