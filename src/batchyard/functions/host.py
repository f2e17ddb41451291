"""The engine behind the Lambda facade: records, code, warm pools and invocations."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import batchyard
from batchyard.aws.caller import Caller
from batchyard.compute.limits import CgroupLayout, remove_stale_groups
from batchyard.config import Settings
from batchyard.functions import code as codes
from batchyard.functions import invocation as inv
from batchyard.functions import opt
from batchyard.functions.aliases import Aliases, pick_version
from batchyard.functions.concurrency import (
    MAX_EVENT_AGE_SECONDS,
    ConcurrencyGate,
    Reservations,
    throttled,
)
from batchyard.functions.interpreter import worker_runtime
from batchyard.functions.invocation import InvocationResult, InvocationType
from batchyard.functions.layers import Layers
from batchyard.functions.names import LATEST, FunctionRef, function_arn, parse_function_name
from batchyard.functions.names import not_found as not_found_error
from batchyard.functions.output import FunctionOutput
from batchyard.functions.pool import POOL_SIZE, WorkerPools
from batchyard.functions.registry import Function, FunctionRegistry, PendingEvent
from batchyard.functions.versions import Versions
from batchyard.functions.worker import Outcome, Worker, WorkerSpec
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store

log = logging.getLogger(__name__)

# Lambda gives the import of a handler ten seconds, or the function's timeout when longer.
INIT_SECONDS = 10.0
# Async invocations carry smaller payloads than synchronous ones.
MAX_EVENT_PAYLOAD = 256 * 1024
# Lambda runs a failing Event up to three times: one minute, then two minutes apart
# (divided by the server's time scale).
EVENT_ATTEMPTS = 3
EVENT_RETRY_DELAYS = (60.0, 120.0)


def _invalid_content(exc: ValueError) -> ServiceError:
    return ServiceError(
        "InvalidRequestContentException",
        f"Could not parse request body into json: Could not parse payload into json: {exc}",
        Type="User",
    )


def event_text(payload: bytes) -> str:
    """The payload as JSON text; an empty payload is the empty object, as in Lambda."""
    if not payload.strip():
        return "{}"
    try:
        text = payload.decode("utf-8")
        json.loads(text)
    except ValueError as exc:
        raise _invalid_content(exc) from None
    return text


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip("\r")]


def _unavailable(function: Function, request_id: str, error: OSError) -> InvocationResult:
    payload = json.dumps(inv.unavailable_error(error.strerror or str(error))).encode()
    return InvocationResult(200, payload, "Unhandled", "", request_id, function.version)


class FunctionHost:
    """Owns the functions of one server; the :class:`Lambda` facade goes through it."""

    def __init__(self, store: Store, output: FunctionOutput, settings: Settings,
                 pool_size: int = POOL_SIZE) -> None:
        self.settings = settings
        self.output = output
        self.registry = FunctionRegistry(store, self.not_found)
        self.versions = Versions(store, self.qualified_not_found)
        self.aliases = Aliases(store, self.arn, self.qualified_not_found)
        self.layers = Layers(store)
        self.reservations = Reservations(store, self.not_found)
        self.gate = ConcurrencyGate()
        self.pools = WorkerPools(pool_size)
        self.layout = CgroupLayout.detect()
        self.runtime = worker_runtime(settings)
        # Servers sharing a host sweep only the worker cgroups of their own data directory.
        digest = hashlib.sha256(str(self.settings.data_dir.resolve()).encode()).hexdigest()[:10]
        self.group_prefix = f"batchyard-fn-{digest}-"
        self._background: set[asyncio.Task[None]] = set()

    @staticmethod
    def arn(owner: Caller, name: str, qualifier: str | None = None) -> str:
        """The ARN of ``owner``'s function ``name``."""
        return function_arn(owner.region, owner.account_id, name, qualifier)

    def not_found(self, owner: Caller, name: str) -> ServiceError:
        """ResourceNotFoundException for the unqualified function ``name``."""
        return not_found_error(self.arn(owner, name))

    def qualified_not_found(self, owner: Caller, name: str, qualifier: str | None
                            ) -> ServiceError:
        """ResourceNotFoundException for function ``name`` (at ``qualifier``, if given)."""
        return not_found_error(self.arn(owner, name, qualifier))

    @staticmethod
    def resolve(owner: Caller, function_name: str, qualifier: str | None = None) -> FunctionRef:
        """Parse a FunctionName (name, ARN or partial ARN, maybe qualified) of ``owner``."""
        return parse_function_name(function_name, owner.region, owner.account_id, qualifier)

    async def lookup(self, owner: Caller, function_name: str,
                     qualifier: str | None = None) -> Function:
        """The function version a FunctionName and Qualifier designate: ``$LATEST``, a
        published version, or the version an alias points at."""
        return await self.version_of(owner, self.resolve(owner, function_name, qualifier))

    async def version_of(self, owner: Caller, ref: FunctionRef, routed: bool = False
                         ) -> Function:
        """The version ``ref`` designates; through an alias with ``routed``, the version one
        invocation runs (its routing weights applied)."""
        qualifier = ref.qualifier
        if qualifier is not None and qualifier != LATEST and not qualifier.isdigit():
            alias = await self.aliases.get(owner, ref.name, qualifier)
            qualifier = pick_version(alias) if routed else alias["FunctionVersion"]
        if qualifier is None or qualifier == LATEST:
            return await self.registry.get(owner, ref.name)
        return await self.versions.get(owner, ref.name, qualifier)

    async def start(self) -> None:
        """Drop code no function uses any more; replay Events accepted before the last stop.

        Replaced code is kept until here because an invocation may still have been running
        in it when the function changed.
        """
        current = await self.registry.digests()
        await asyncio.to_thread(codes.prune, self.settings.work_dir, current)
        await asyncio.to_thread(opt.discard_all, self.settings.work_dir)
        await self.layers.sweep()
        await asyncio.to_thread(remove_stale_groups, self.layout, self.group_prefix)
        for event in await self.registry.pending():
            self._spawn(self._run_event(event))

    async def stop(self) -> None:
        """Cancel background invocations (they stay pending) and stop every worker."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pools.close()

    async def forget(self, function: Function) -> None:
        """Stop a deleted function's workers and drop its code."""
        self.gate.changed(function.key)
        await self.pools.retire(function.key, None)
        await asyncio.to_thread(codes.discard, self.settings.work_dir, function.key)

    async def invoke(
        self,
        owner: Caller,
        function_name: str,
        payload: bytes,
        invocation_type: str = InvocationType.REQUEST_RESPONSE,
        qualifier: str | None = None,
        request_id: str | None = None,
    ) -> InvocationResult:
        """Invoke a function as Lambda's Invoke does; errors are Lambda's ServiceErrors."""
        if invocation_type not in tuple(InvocationType):
            raise ServiceError(
                "InvalidParameterValueException",
                f"Unsupported invocation type {invocation_type}", Type="User",
            )
        request_id = request_id or str(uuid.uuid4())
        ref = self.resolve(owner, function_name, qualifier)
        function = await self.version_of(owner, ref, routed=True)
        if invocation_type == InvocationType.DRY_RUN:
            return InvocationResult(204, b"", None, "", request_id, executed_version=None)
        text = event_text(payload)
        invoked_arn = self.arn(owner, function.name, ref.qualifier)
        if invocation_type == InvocationType.EVENT:
            if len(payload) > MAX_EVENT_PAYLOAD:
                raise ServiceError(
                    "RequestTooLargeException",
                    f"Request must be smaller than {MAX_EVENT_PAYLOAD} bytes for the "
                    "InvokeAsync operation", Type="User",
                )
            event = PendingEvent(request_id, owner, function.name, text.encode(),
                                 qualifier=ref.qualifier)
            while not await self.registry.add_pending(event):
                # A caller that reused its request id still gets an invocation of its own.
                event = replace(event, request_id=str(uuid.uuid4()))
            request_id = event.request_id
            self._spawn(self._run_event(event))
            return InvocationResult(202, b"", None, "", request_id, executed_version=None)
        if not self.gate.enter(function.key, function.reserved_concurrency):
            raise throttled()
        try:
            return await self._run(function, invoked_arn, text, request_id)
        finally:
            self.gate.leave(function.key)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_event(self, event: PendingEvent) -> None:
        """Run an accepted Event, retrying a failed handler as Lambda does, then forget it."""
        attempts = event.attempts
        try:
            while attempts < EVENT_ATTEMPTS:
                if attempts:
                    delay = EVENT_RETRY_DELAYS[attempts - 1] / self.settings.time_scale
                    await asyncio.sleep(delay)
                function = await self._admitted(event)
                if function is None:
                    break
                try:
                    result = await self._run(
                        function, self.arn(event.owner, function.name, event.qualifier),
                        event.payload.decode(), event.request_id,
                    )
                finally:
                    self.gate.leave(function.key)
                attempts += 1
                if not result.function_error:
                    break
                log.info("Event invocation %s of %s failed (attempt %d): %s", event.request_id,
                         function.name, attempts, result.payload[:512].decode(errors="replace"))
                if attempts < EVENT_ATTEMPTS:
                    await self.registry.count_attempt(event.request_id, attempts)
        except Exception:
            log.exception("Event invocation %s of %s failed", event.request_id,
                          event.function_name)
        await self.registry.remove_pending(event.request_id)

    async def _admitted(self, event: PendingEvent) -> Function | None:
        """The version ``event`` runs on, once its function's reserved concurrency has room
        for it (counted in the gate); None when the function is gone or the event has waited
        longer than Lambda keeps a throttled event."""
        deadline = event.accepted + MAX_EVENT_AGE_SECONDS / self.settings.time_scale
        while True:
            try:
                ref = FunctionRef(event.function_name, event.qualifier)
                function = await self.version_of(event.owner, ref, routed=True)
            except ServiceError:
                return None
            if self.gate.enter(function.key, function.reserved_concurrency):
                return function
            remaining = deadline - time.time()
            if remaining <= 0:
                log.warning("Event invocation %s of %s dropped: throttled for longer than the "
                            "maximum event age", event.request_id, function.name)
                return None
            await self.gate.wait(function.key, remaining)

    async def opt_dir(self, function: Function) -> Path | None:
        """The function's layers unpacked (its ``/opt``), None when it has none."""
        digests = function.layer_digests
        if not digests:
            return None
        target = opt.opt_dir(self.settings.work_dir, digests)
        if target.is_dir():
            return target
        stored = await self.layers.contents(digests)
        missing = [digest for digest in digests if digest not in stored]
        if missing:
            raise FileNotFoundError(errno.ENOENT, "the content of a layer is missing", missing[0])
        return await asyncio.to_thread(
            opt.assemble, self.settings.work_dir, digests, [stored[d] for d in digests]
        )

    async def code_dir(self, function: Function) -> Path:
        """The unpacked code of ``function``, unpacking it from the store when missing."""
        target = codes.code_dir(self.settings.work_dir, function.key, function.digest)
        if target.is_dir():
            return target
        data = await self.registry.zip_bytes(function.owner, function.name, function.digest)
        if data is None:
            raise self.not_found(function.owner, function.name)
        return await asyncio.to_thread(
            codes.unpack, self.settings.work_dir, function.key, function.digest, data
        )

    def endpoint(self) -> str:
        """This server's URL as a worker on the same host reaches it."""
        host = self.settings.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.settings.port}"

    def environment(self, function: Function, code_dir: Path) -> dict[str, str]:
        """A worker's environment: Lambda's variables, boto3 aimed here, then the function's."""
        region = function.owner.region
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_ENDPOINT_URL": self.endpoint(),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "batchyard",
            "AWS_SECRET_ACCESS_KEY": "batchyard",
            "AWS_SESSION_TOKEN": "batchyard",
            # The host user's AWS profile must not leak into a function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": function.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(codes.__file__).parent),
            "_HANDLER": function.handler,
            # The worker imports its bootstrap from this package, installed or not.
            "PYTHONPATH": str(Path(batchyard.__file__).resolve().parent.parent),
        }
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        env.update(function.variables)
        return env

    async def _run(self, function: Function, invoked_arn: str, text: str,
                   request_id: str) -> InvocationResult:
        try:
            folder = await self.code_dir(function)
            layers = await self.opt_dir(function)
            pool = await self.pools.pool_for(
                function.key, function.version, function.revision_id,
                lambda: WorkerSpec(
                    folder, self.environment(function, folder), function.memory_size,
                    self.layout, self.group_prefix, self.runtime, layers,
                ),
            )
            worker = await pool.acquire()
        except OSError as error:
            # Code that cannot be unpacked or started here (a full disk, a package stored
            # before packages were checked) fails the invocation, not the request.
            log.exception("could not start the code of %s", function.name)
            return _unavailable(function, request_id, error)
        started_ms = int(time.time() * 1000)
        reusable = False
        try:
            before, init_ms, outcome, reusable = await self._execute(
                worker, function, invoked_arn, text, request_id
            )
        finally:
            await pool.release(worker, reusable)
        return await self._finish(function, worker, request_id, before, init_ms, outcome,
                                  started_ms)

    async def _execute(self, worker: Worker, function: Function, invoked_arn: str, text: str,
                       request_id: str) -> tuple[list[str], float | None, Outcome, bool]:
        """Initialise the worker if it is new, then run.

        Returns the lines logged before START, the init duration (cold starts only), the
        outcome and whether the worker may serve again.
        """
        before: list[str] = []
        init_ms = None
        if not worker.initialized:
            init = await worker.initialize(max(INIT_SECONDS, float(function.timeout)))
            before = [inv.init_start_line(function.runtime), *_lines(init.log)]
            init_ms = init.init_ms
            if init.kind != "ok":
                if init.error is not None:
                    init.error = {**init.error, "requestId": request_id}
                    init.error.setdefault("stackTrace", [])
                init.log = ""
                return before, init_ms, init, False
        run = await worker.invoke(request_id, text, invoked_arn, float(function.timeout))
        return before, init_ms, run, run.kind in ("ok", "error") and worker.alive

    async def _finish(self, function: Function, worker: Worker, request_id: str,
                      before: list[str], init_ms: float | None, outcome: Outcome,
                      started_ms: int) -> InvocationResult:
        body = _lines(outcome.log)
        status = None
        error: dict[str, Any] | None = None
        payload = outcome.payload
        if outcome.kind == "error":
            error = outcome.error
            status = "error"
        elif outcome.kind == "timeout":
            error = inv.timeout_error(request_id, function.timeout)
            body.append(inv.timeout_line(request_id, function.timeout))
            status = "timeout"
        elif outcome.kind == "exited":
            error = inv.exit_error(request_id, outcome.exit_reason)
            body.append(f"RequestId: {request_id} Error: Runtime exited with error: "
                        f"{outcome.exit_reason}")
            status = "error"
        elif len(payload) > inv.MAX_RESPONSE_BYTES:
            error = inv.oversized_error(len(payload))
        if error is not None:
            payload = json.dumps(error).encode()
        if status == "error" and error is not None:
            status = f"error\tError Type: {error.get('errorType', 'Unknown')}"
        after = [
            inv.end_line(request_id),
            inv.report_line(request_id, outcome, function.memory_size, init_ms, status),
        ]
        lines = [*before, inv.start_line(request_id, function.version), *body, *after]
        ended_ms = int(time.time() * 1000)
        events = [(started_ms, line) for line in before]
        events.append((started_ms, lines[len(before)]))
        events.extend((ended_ms, line) for line in [*body, *after])
        try:
            await self.output.write_lines(function.owner, function.log_group,
                                          worker.stream_name, events)
        except Exception:
            log.exception("could not store the log of %s", request_id)
        return InvocationResult(
            status=200,
            payload=payload,
            function_error="Unhandled" if error is not None else None,
            log_tail=inv.tail("\n".join(lines) + "\n"),
            request_id=request_id,
            executed_version=function.version,
        )
