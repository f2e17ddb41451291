"""A service's API as the server sees it: its botocore model and its table of operations.

A service's ``api`` module builds one :class:`ServiceApi` from its facade: a table that maps
each operation name of the model to a handler taking the caller and the validated input (the
AWS-shaped dict the protocol layer parsed) and returning the output, a dataclass or a dict the
serializer walks with the operation's output shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel

from batchyard.aws.caller import Caller

Params = dict[str, Any]
Handler = Callable[[Caller, Params], Awaitable[object]]

# Above this a request is refused before it is read, whatever the operation.
DEFAULT_BODY_LIMIT = 8 * 1024 * 1024


@cache
def load_model(name: str) -> ServiceModel:
    """botocore's model of service ``name`` (e.g. ``batch``, ``stepfunctions``)."""
    return botocore.session.get_session().get_service_model(name)


@dataclass(frozen=True)
class ServiceApi:
    """The operations one service implements, plus how it reports invalid input.

    ``validation_error`` is the error code the real service answers for input that fails its
    shape (Batch: ClientException; Step Functions: ValidationException ...). ``body_limits``
    holds per-operation request size limits in bytes, with AWS's message for each.
    ``case_insensitive_enums`` names enum shapes the service accepts in any letter case.
    """

    name: str
    validation_error: str
    operations: Mapping[str, Handler]
    body_limits: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    default_body_limit: int = DEFAULT_BODY_LIMIT
    case_insensitive_enums: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.operations) - set(self.model.operation_names)
        if unknown:
            raise ValueError(f"{self.name} has no operation(s) {', '.join(sorted(unknown))}")

    @property
    def model(self) -> ServiceModel:
        return load_model(self.name)

    def operation_model(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def body_limit(self, operation: str) -> tuple[int, str]:
        """The largest request body ``operation`` takes, and AWS's message past it."""
        return self.body_limits.get(
            operation, (self.default_body_limit, "Request body is too large")
        )

    def error_status(self, code: str) -> int:
        """The HTTP status the model gives error ``code`` (400 when it does not say)."""
        return error_status(self.name, code)


def error_status(service: str, code: str) -> int:
    """The HTTP status the model of ``service`` gives error ``code`` (400 when it does not
    say)."""
    for shape in load_model(service).error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    return 400
