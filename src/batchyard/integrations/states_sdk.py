"""Step Functions' AWS SDK integrations: ``arn:aws:states:::aws-sdk:<service>:<action>`` and
its ``.waitForTaskToken`` form, for every operation of every service this server hosts, each
served by that service's own operation handler and driven by its botocore model.

The service is named as AWS's SDKs name it, the model's serviceId in lower case without
spaces or hyphens (``batch``, ``sfn``, ``lambda``, ``eventbridge``, ``cloudwatchlogs``); the
action is the operation's name with a lower-case first letter (``submitJob``). Parameters
name the operation's input members in PascalCase, map keys (tags, job parameters) as written.
A JSON value given for a string member is sent as its JSON text (an execution's ``Input``, an
event's ``Detail``), and so is the request's payload (Lambda's ``Payload``); other blobs are
base64 text. The request is checked against the model as the service's API checks it and
handled as an HTTP request for that operation would be, in the execution's account and
region, with a request id of its own. The result has the output members in PascalCase,
timestamps as ISO 8601 text, blobs in base64 and a payload blob (Lambda's ``Payload``) as its
text.

A failed call fails the task with ``<Service>.<Exception>``: the service as AWS's Java SDK
names its client (``Batch``, ``Sfn``, ``Lambda``, ``EventBridge``, ``CloudWatchLogs``) and the
exception class of the error the model declares (``Batch.ClientException``,
``Sfn.ExecutionDoesNotExistException``), or the service's base exception for one it does not
declare (``Lambda.LambdaException`` for an operation this server does not implement). The
cause is the SDK's message: ``<message> (Service: Batch, Status Code: 400, Request ID: <id>)``.

CreateStateMachine refuses a resource that names no operation: an unknown service or action,
an operation that streams (SDK integrations offer none) or ``.sync``, which SDK integrations
do not have. A service this server does not host is recognized when botocore models it under
that name (``s3``, ``dynamodb``); its tasks fail as an unknown resource does.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from batchyard.aws.caller import Caller
from batchyard.protocol.errors import ServiceError, ValidationFailure, unsupported_operation
from batchyard.protocol.service import ServiceApi, load_model
from batchyard.protocol.validate import validate_input
from batchyard.protocol.wire import members_of
from batchyard.states import (
    RuntimeFailure,
    StepFunctions,
    TaskFailure,
    TaskRequest,
    unknown_resource,
)
from batchyard.states.integrations.calls import compact, pascal
from batchyard.states.integrations.waits import TokenWait

log = logging.getLogger(__name__)

PREFIX = "arn:aws:states:::aws-sdk:"
# The Java SDK's class names: words split at case changes, acronyms kept whole ("EC2", "SFN").
_WORD = re.compile(r"[A-Z]+\d*(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")


# -- names -------------------------------------------------------------------------------------
def sdk_name(model: ServiceModel) -> str:
    """The service as an SDK integration's resource names it: ``CloudWatch Logs`` →
    ``cloudwatchlogs``."""
    return re.sub(r"[\s-]", "", model.metadata["serviceId"]).lower()


def java_name(text: str) -> str:
    """``text`` as AWS's Java SDK spells a class name: ``SFN`` → ``Sfn``, ``CloudWatch Logs``
    → ``CloudWatchLogs``, ``EC2ThrottledException`` → ``Ec2ThrottledException``."""
    words = [w for part in re.split(r"[\s_-]+", text) for w in _WORD.findall(part)]
    return "".join(word[:1].upper() + word[1:].lower() for word in words)


def exception_name(shape: str) -> str:
    """The Java SDK's exception class of error shape ``shape``: every one ends in
    ``Exception``."""
    base = shape.removesuffix("Fault")
    return java_name(base if base.endswith("Exception") else f"{base}Exception")


def instant(value: datetime | float) -> str:
    """A timestamp as the SDK's results show it (Java's ``Instant``): UTC, its fraction in
    milli- or microseconds and left out when zero."""
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    else:
        moment = datetime.fromtimestamp(value, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    micros = moment.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return f"{text}Z"


# -- parameters in, results out ----------------------------------------------------------------
def _unsupported(key: str) -> RuntimeFailure:
    return RuntimeFailure(f"The field '{key}' is not supported by Step Functions")


def _as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else compact(value).encode()


def sdk_input(operation: OperationModel, parameters: Any) -> Any:
    """The request members of ``operation`` that a task's PascalCase parameters give.

    A key that is no member of the request fails the task (States.Runtime); anything else is
    left for the model's check.
    """
    shape = operation.input_shape
    if shape is None:
        if isinstance(parameters, dict) and parameters:
            raise _unsupported(next(iter(parameters)))
        return {}
    if not isinstance(parameters, dict):
        return parameters
    payload = shape.serialization.get("payload")
    members = {pascal(name): name for name in shape.members}
    request: dict[str, Any] = {}
    for key, value in parameters.items():
        name = members.get(key)
        if name is None:
            raise _unsupported(key)
        member = shape.members[name]
        if name == payload and member.type_name == "blob" and value is not None:
            request[name] = _as_bytes(value)
        else:
            request[name] = _member_in(member, value)
    return request


def _member_in(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {pascal(name): name for name in shape.members}
        out = {}
        for key, item in value.items():
            name = members.get(key)
            if name is None:
                raise _unsupported(key)
            out[name] = _member_in(shape.members[name], item)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_member_in(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _member_in(shape.value, item) for key, item in value.items()}
    if shape.type_name == "string" and value is not None and not isinstance(value, str):
        # Step Functions sends a JSON value given for a text member as its JSON text.
        return compact(value)
    return value


def sdk_output(operation: OperationModel, result: object) -> dict[str, Any]:
    """A handler's result as the task's result: PascalCase members, JSON values only."""
    shape = operation.output_shape
    if shape is None or result is None:
        return {}
    out = _structure_out(shape, result, shape.serialization.get("payload"))
    assert isinstance(out, dict)
    return out


def _structure_out(shape: StructureShape, value: Any, payload: str | None = None) -> Any:
    out: dict[str, Any] = {}
    for name, item in members_of(shape, value).items():
        member = shape.members.get(name)
        if member is None or item is None:
            continue
        if name == payload and member.type_name == "blob":
            raw = item if isinstance(item, bytes) else str(item).encode()
            out[pascal(name)] = raw.decode("utf-8", "replace")
        else:
            out[pascal(name)] = _member_out(member, item)
    return out


def _member_out(shape: Shape, value: Any) -> Any:
    if isinstance(shape, StructureShape):
        return _structure_out(shape, value)
    if isinstance(shape, ListShape):
        return [_member_out(shape.member, item) for item in value]
    if isinstance(shape, MapShape):
        return {key: _member_out(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp":
        return instant(value)
    if shape.type_name == "blob":
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(raw).decode("ascii")
    return value


# -- errors -------------------------------------------------------------------------------------
def sdk_failure(api: ServiceApi, error: ServiceError, request_id: str) -> TaskFailure:
    """The task error an SDK integration's failed call raises: ``<Service>.<Exception>``, the
    SDK's message as the cause."""
    model = api.model
    prefix = java_name(model.metadata["serviceId"])
    declared = next(
        (s for s in model.error_shapes
         if s.metadata.get("error", {}).get("code", s.name) == error.code),
        None,
    )
    exception = exception_name(declared.name) if declared is not None else f"{prefix}Exception"
    status = error.status or api.error_status(error.code)
    cause = f"{error.message} (Service: {prefix}, Status Code: {status}, Request ID: {request_id})"
    return TaskFailure(f"{prefix}.{exception}", cause)


# -- resolving a resource ----------------------------------------------------------------------
@cache
def _botocore_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


@lru_cache(maxsize=64)
def aws_model(service: str) -> ServiceModel | None:
    """botocore's model of the AWS service an SDK resource names ``service``, found under its
    botocore name without hyphens (``acm-pca`` for ``acmpca``); None when there is none."""
    for name in _botocore_services():
        if name.replace("-", "") != service:
            continue
        model = load_model(name)
        named = sdk_name(model)
        # "Config Service" is the SDKs' "config".
        if service in (named, named.removesuffix("service")):
            return model
    return None


@dataclass(frozen=True, slots=True)
class SdkTarget:
    """The operation an SDK resource names; ``api`` is None for a service not hosted here."""

    api: ServiceApi | None
    operation: OperationModel
    pattern: str


class SdkIntegrations:
    """``aws-sdk:*`` Task resources, run by the operation handlers of ``apis``."""

    def __init__(self, apis: Iterable[ServiceApi], tokens: TokenWait) -> None:
        self._hosted = {sdk_name(api.model): api for api in apis}
        self._tokens = tokens

    def resolve(self, resource: str) -> SdkTarget | None:
        """The operation ``resource`` names, None when it names none AWS offers."""
        if not resource.startswith(PREFIX):
            return None
        service, _, rest = resource[len(PREFIX):].partition(":")
        action, dot, suffix = rest.partition(".")
        pattern = dot + suffix
        if pattern not in ("", self._tokens.SUFFIX) or not action[:1].islower():
            return None
        api = self._hosted.get(service)
        model = api.model if api is not None else aws_model(service)
        name = pascal(action)
        if model is None or name not in model.operation_names:
            return None
        operation = model.operation_model(name)
        if operation.has_event_stream_input or operation.has_event_stream_output:
            return None
        return SdkTarget(api, operation, pattern)

    def recognizes(self, resource: str) -> bool:
        """Whether ``resource`` names an SDK integration AWS offers."""
        return self.resolve(resource) is not None

    async def invoke(self, request: TaskRequest) -> Any:
        """Call the operation; ``.waitForTaskToken`` then waits for the token's answer."""
        target = self.resolve(request.resource)
        if target is None or target.api is None:
            raise unknown_resource(request)
        api, operation = target.api, target.operation
        params = sdk_input(operation, request.parameters)
        if target.pattern == self._tokens.SUFFIX:
            return await self._tokens.wait(
                request, lambda: self._call(request.caller, api, operation, params)
            )
        return await self._call(request.caller, api, operation, params)

    @staticmethod
    async def _call(
        execution: Caller, api: ServiceApi, operation: OperationModel, params: Any
    ) -> dict[str, Any]:
        caller = Caller(execution.account_id, execution.region)
        try:
            handler = api.operations.get(operation.name)
            if handler is None:
                raise unsupported_operation(operation.name)
            valid = validate_input(operation.input_shape, params, api.case_insensitive_enums)
            result = await handler(caller, valid)
        except ValidationFailure as failure:
            # As the service's API answers input its model refuses.
            refused = ServiceError(api.validation_error, failure.message, status=400)
            raise sdk_failure(api, refused, caller.request_id) from None
        except ServiceError as error:
            raise sdk_failure(api, error, caller.request_id) from None
        except Exception:
            log.exception("aws-sdk %s.%s failed", api.name, operation.name)
            internal = ServiceError(
                "InternalFailure", "Unexpected server error; see the server log", status=500
            )
            raise sdk_failure(api, internal, caller.request_id) from None
        return sdk_output(operation, result)


def register(states: StepFunctions, apis: Iterable[ServiceApi]) -> None:
    """Serve ``aws-sdk:*`` Task resources of ``states`` with the operations of ``apis``."""
    states.register_invoker(PREFIX, SdkIntegrations(apis, TokenWait(states)))
