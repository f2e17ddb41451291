"""The worker process: import the handler once, then run invocations sent by the server.

Started as ``python -m batchyard.functions.bootstrap`` in the function's code directory (so
the handler's modules come first on ``sys.path``, as ``/var/task`` does in Lambda). File
descriptors: the server writes one JSON request per line to fd 0 and reads one JSON answer
per line from fd 1; the handler's own stdout and stderr both go to the server's log pipe.
After each phase the worker writes a marker line to the log pipe, then answers, so the server
knows where one invocation's output ends.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import site
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

from batchyard.functions.context import LambdaContext

MARKER = "\x1e{}\x1e\n"
INIT_TOKEN = "init"
# ``--opt <path> <descriptor>``: the function's layers, unpacked.
OPT_OPTION = "--opt"

_current_request = {"id": ""}


def _own_frame(filename: str) -> bool:
    return os.path.abspath(filename) == os.path.abspath(__file__)


def error_payload(exc: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """The body Lambda's Python runtime reports for an exception raised by user code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _own_frame(f.filename)]
    payload: dict[str, Any] = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
    }
    if request_id:
        payload["requestId"] = request_id
    payload["stackTrace"] = traceback.format_list(frames)
    return payload


def _log_error(payload: dict[str, Any]) -> None:
    trace = "".join(payload.get("stackTrace") or [])
    header = f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"
    text = f"{header}\nTraceback (most recent call last):\n{trace}" if trace else header
    print(text.rstrip("\n"), flush=True)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request["id"]
        return True


def _configure_logging() -> None:
    # Lambda's Python runtime installs this format on the root logger (level stays WARNING).
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(spec: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """Import ``module.function``; the handler, or Lambda's error for why there is none."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return None, {
            "errorMessage": f"Bad handler '{spec}': not enough values to unpack "
                            "(expected 2, got 1)",
            "errorType": "Runtime.MalformedHandlerName",
            "stackTrace": [],
        }
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, {
            "errorMessage": f"Unable to import module '{module_name}': {exc}",
            "errorType": "Runtime.ImportModuleError",
            "stackTrace": [],
        }
    except SyntaxError as exc:
        return None, {
            "errorMessage": f"Syntax error in module '{module_name}': {exc}",
            "errorType": "Runtime.UserCodeSyntaxError",
            "stackTrace": [],
        }
    except Exception as exc:
        return None, error_payload(exc)
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, {
            "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
            "errorType": "Runtime.HandlerNotFound",
            "stackTrace": [],
        }
    return handler, None


def _end_phase(token: str, control: IO[bytes], answer: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, MARKER.format(token).encode())
    control.write(json.dumps(answer).encode() + b"\n")
    control.flush()


def _max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _invoke(handler: Callable[..., Any], request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["id"]
    _current_request["id"] = request_id
    context = LambdaContext(request_id, request["arn"], request["deadline_ms"])
    try:
        event = json.loads(request["event"])
        result = handler(event, context)
    except Exception as exc:
        payload = error_payload(exc, request_id)
        _log_error(payload)
        return {"error": payload}
    try:
        return {"payload": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        payload = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        _log_error(payload)
        return {"error": payload}


def _reach_the_code() -> None:
    """Import the code through an open descriptor of the working directory when its path
    cannot be walked: a worker under a uid of its own may sit below a directory closed to it
    (a data directory in a private home), and ``python -m`` put that path on ``sys.path``."""
    here = os.getcwd()
    if sys.path and sys.path[0] == here and not os.access(here, os.R_OK | os.X_OK):
        sys.path[0] = f"/proc/self/fd/{os.open('.', os.O_RDONLY | os.O_DIRECTORY)}"


def _add_layers(argv: list[str]) -> None:
    """Put the function's layers (Lambda's ``/opt``) on ``sys.path`` after its own code and
    ahead of the runtime's: ``python/lib/<runtime>/site-packages`` (a site directory, whose
    .pth files are read), then ``python``, as Lambda's Python runtimes do.

    The server passes the directory's path and an open descriptor of it; the descriptor is
    the way in when a directory above the path is closed to this worker's uid.
    """
    if argv[:1] != [OPT_OPTION]:
        return
    path, descriptor = argv[1], int(argv[2])
    if os.access(path, os.R_OK | os.X_OK):
        os.close(descriptor)
        root = path
    else:
        root = f"/proc/self/fd/{descriptor}"
    runtime = os.environ.get("AWS_EXECUTION_ENV", "").removeprefix("AWS_Lambda_")
    before = list(sys.path)
    site.addsitedir(os.path.join(root, "python", "lib", runtime, "site-packages"))
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = [*before[:1], *added, os.path.join(root, "python"), *before[1:]]


def main() -> None:
    """Take over the descriptors, initialise the handler, serve requests until EOF."""
    _reach_the_code()
    _add_layers(sys.argv[1:])
    del sys.argv[1:]
    control_in = os.fdopen(os.dup(0), "rb")
    control_out = os.fdopen(os.dup(1), "wb")
    quiet = os.open(os.devnull, os.O_RDONLY)
    os.dup2(quiet, 0)
    os.close(quiet)
    os.dup2(2, 1)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    _configure_logging()

    started = time.monotonic()
    handler, init_error = load_handler(os.environ["_HANDLER"])
    if init_error is not None:
        _log_error(init_error)
    init_ms = (time.monotonic() - started) * 1000
    _end_phase(INIT_TOKEN, control_out, {"init_ms": init_ms, "error": init_error})
    if handler is None:
        return
    for line in control_in:
        request = json.loads(line)
        answer = _invoke(handler, request)
        answer["max_memory_mb"] = _max_memory_mb()
        _end_phase(request["id"], control_out, answer)


if __name__ == "__main__":
    main()
