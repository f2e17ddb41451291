"""SubmitJob over plain keep-alive HTTP, for filling a queue faster than boto3 clients can.

boto3 spends more client CPU per call than the server does, so on a small machine it cannot
fill a queue a million deep in reasonable time. These clients send the same rest-json request
boto3 sends (``POST /v1/submitjob`` with a SigV4-shaped Authorization header, which a
development-mode server accepts without checking the signature), so every job still goes
through routing, validation, the handler and a committed write.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import threading
import time
from typing import Any
from urllib.parse import urlsplit

AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/batch/aws4_request, "
    "SignedHeaders=host, Signature=0"
)
PROCESSES = 4
THREADS_PER_PROCESS = 8


def _send(endpoint: str, queue: str, definition: str, count: int, prefix: str) -> None:
    address = urlsplit(endpoint)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}
    for i in range(count):
        body = json.dumps({"jobName": f"{prefix}-{i}", "jobQueue": queue,
                           "jobDefinition": definition})
        connection.request("POST", "/v1/submitjob", body, headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"SubmitJob answered {response.status}: {answer[:300]!r}")
    connection.close()


def _process(endpoint: str, queue: str, definition: str, count: int, index: int) -> None:
    base, left = divmod(count, THREADS_PER_PROCESS)
    errors: list[BaseException] = []

    def send(share: int, prefix: str) -> None:
        try:
            _send(endpoint, queue, definition, share, prefix)
        except BaseException as exc:  # the process exits non-zero with the first one
            errors.append(exc)

    threads = [
        threading.Thread(target=send, args=(base + (t < left), f"deep-{index}-{t}"))
        for t in range(THREADS_PER_PROCESS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def submit_raw(endpoint: str, target: dict[str, Any], total: int) -> float:
    """Submit ``total`` jobs from PROCESSES * THREADS_PER_PROCESS connections; returns jobs/s.

    Any answer but 200 fails the whole run."""
    context = multiprocessing.get_context("spawn")
    base, left = divmod(total, PROCESSES)
    workers = [
        context.Process(target=_process, args=(
            endpoint, target["queue"], target["definition"], base + (p < left), p
        ))
        for p in range(PROCESSES)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a submitting process failed")
    return total / (time.perf_counter() - began)
