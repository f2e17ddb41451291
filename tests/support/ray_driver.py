"""A stand-in for a server that starts Ray attempts and then dies (``kill -9``) with them running.

``python -m tests.support.ray_driver ADDRESS WORK_ROOT SPECS_JSON`` starts each attempt of
SPECS_JSON (a list of ``{"attempt_id", "command"}``), prints one JSON line per event to stdout
(``{"started": identity}``, ``{"line": [attempt id, text]}``, ``{"exit": [attempt id, code]}``)
and runs until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from batchyard.compute.provider import AttemptSpec
from batchyard.compute.ray import RayProvider


def emit(event: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def main(address: str, work_root: str, specs: list[dict[str, object]]) -> None:
    provider = RayProvider(address, work_root=work_root, connect_timeout=60)
    health = await provider.connect(timeout=90)
    assert health.status == "VALID", health
    for item in specs:
        attempt_id = str(item["attempt_id"])
        spec = AttemptSpec(
            attempt_id=attempt_id,
            job_id=str(uuid.uuid4()),
            command=[str(part) for part in item["command"]],  # type: ignore[attr-defined]
            environment={},
        )

        def on_line(timestamp: int, stream: str, text: str, attempt_id: str = attempt_id) -> None:
            emit({"line": [attempt_id, text]})

        attempt = await provider.start(spec, on_line)
        emit({"started": attempt.identity})

        async def report(attempt_id: str = attempt_id, attempt: object = attempt) -> None:
            status = await attempt.wait()  # type: ignore[attr-defined]
            emit({"exit": [attempt_id, status.exit_code]})

        asyncio.get_running_loop().create_task(report())
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
