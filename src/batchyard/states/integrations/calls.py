"""What every integration shares: Task parameters in a service's members and its results
back in Step Functions' PascalCase, checking a request against the service's model, the task
error a service error becomes, the SDK metadata AWS adds to request-response results, and
stable names for what a task starts.

Task parameters name a service's members in PascalCase (``JobQueue`` for Batch's
``jobQueue``) and results come back the same way. Only structure member names change case:
map keys (job parameters, tags) are the user's own and pass through untouched.

A task attempt is named by its execution and :attr:`TaskRequest.attempt` (branch or
iteration, state, entered time, retry count), all restored unchanged by a resume once the
state's entry is committed. The job id or execution name derived from it is therefore the
same on every run of the same attempt, and different for a retry, a later visit to the
state, or another Map item or Parallel branch.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Protocol

from botocore.model import ListShape, MapShape, Shape, StructureShape

from batchyard.protocol.errors import ServiceError, ValidationFailure
from batchyard.protocol.service import load_model
from batchyard.protocol.validate import validate_input
from batchyard.states.asl import RuntimeFailure, TaskFailure, TaskRequest

_NAMESPACE = uuid.UUID("6f1d1c52-5b7e-4f7e-9a51-2f3b8f0c9a11")

# How AWS's Java SDK names each service in an error's cause, and its error-name prefix.
SDK_NAMES = {
    "batch": ("Batch", "AWSBatch"),
    "lambda": ("Lambda", "AWSLambda"),
    "stepfunctions": ("StepFunctions", "AWSStepFunctions"),
    "events": ("EventBridge", "AmazonEventBridge"),
}


class ModelRules(Protocol):
    """How a service checks its input: its model's name, its validation error and the enums
    it takes in any case (a ServiceApi, or a legacy service's API object)."""

    @property
    def name(self) -> str: ...

    @property
    def validation_error(self) -> str: ...

    @property
    def case_insensitive_enums(self) -> frozenset[str]: ...


def input_shape(service: str, operation: str) -> StructureShape:
    """The botocore input shape of ``service``'s ``operation``."""
    shape = load_model(service).operation_model(operation).input_shape
    assert shape is not None
    return shape


def output_shape(service: str, operation: str) -> StructureShape:
    """The botocore output shape of ``service``'s ``operation``."""
    shape = load_model(service).operation_model(operation).output_shape
    assert shape is not None
    return shape


def checked(api: ModelRules, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """``request`` validated and converted as the service's API would accept it."""
    try:
        return validate_input(
            input_shape(api.name, operation), request, api.case_insensitive_enums
        )
    except ValidationFailure as failure:
        raise ServiceError(api.validation_error, failure.message) from None


def task_failure(service: str, error: ServiceError, status: int, request_id: str) -> TaskFailure:
    """The task error AWS reports when a service call fails: ``<Service>.<Exception>``."""
    prefix, sdk_name = SDK_NAMES[service]
    code = error.code if error.code.endswith("Exception") else f"{error.code}Exception"
    cause = (
        f"{error.message} (Service: {sdk_name}; Status Code: {status}; "
        f"Error Code: {error.code}; Request ID: {request_id}; Proxy: null)"
    )
    return TaskFailure(f"{prefix}.{code}", cause)


def request_id() -> str:
    """A fresh request id, as each service call gets one."""
    return str(uuid.uuid4())


def sdk_metadata(
    request: str, status: int = 200, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` as request-response results carry them."""
    all_headers = {
        "Content-Type": "application/json",
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
        "x-amzn-RequestId": request,
        **(headers or {}),
    }
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in all_headers.items()},
            "HttpHeaders": all_headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request},
    }


def compact(value: Any) -> str:
    """JSON text as Step Functions writes causes and payloads: no spaces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- PascalCase --------------------------------------------------------------------------------
def pascal(name: str) -> str:
    """``jobQueue`` → ``JobQueue``."""
    return name[:1].upper() + name[1:]


def to_service(shape: Shape, value: Any, field: str = "Parameters") -> Any:
    """A PascalCase parameter document as the service's request members.

    A member the service does not have fails the task, as AWS refuses such parameters.
    """
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {pascal(name): name for name in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(key)
            if name is None:
                raise RuntimeFailure(
                    f"The field '{key}' is not supported by Step Functions in {field}"
                )
            out[name] = to_service(shape.members[name], item, f"{field}.{key}")
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_service(shape.member, item, field) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_service(shape.value, item, field) for key, item in value.items()}
    return value


def from_service(shape: Shape, value: Any) -> Any:
    """A service's response document in PascalCase; members the model lacks are dropped."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            pascal(name): from_service(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members and item is not None
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [from_service(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: from_service(shape.value, item) for key, item in value.items()}
    return value


# -- names of what a task starts ---------------------------------------------------------------
def execution_of(request: TaskRequest) -> str:
    """The ARN of the execution running the task."""
    return str(request.context["Execution"]["Id"])


def child_id(request: TaskRequest) -> str:
    """A UUID naming what this task attempt starts."""
    return str(uuid.uuid5(_NAMESPACE, f"{execution_of(request)}|{request.attempt}"))


def pattern_of(resource: str, base: str) -> str:
    """The integration pattern suffix of ``resource``: "", ".sync", ".sync:2", ...."""
    return resource[len(base):]
