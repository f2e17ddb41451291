"""Errors that operation handlers raise and the protocol layer turns into AWS error responses."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error the client sees: AWS's error code, its message and optional extra members.

    ``status`` defaults to the HTTP status the service model gives the error shape (400 when
    the model is silent).
    """

    def __init__(
        self, code: str, message: str, *, status: int | None = None, **fields: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields

    def __repr__(self) -> str:
        return f"ServiceError({self.code!r}, {self.message!r})"


class UnknownOperation(ServiceError):
    """The request names no operation this server implements."""

    def __init__(self, message: str = "Unknown operation", status: int = 400) -> None:
        super().__init__("UnknownOperationException", message, status=status)


def unsupported_operation(operation: str) -> UnknownOperation:
    """What this server answers for an operation of a service's model it does not implement."""
    return UnknownOperation(f"Operation {operation} is not supported by this server")


class ValidationFailure(ServiceError):
    """Input that does not satisfy the operation's input shape.

    The code is filled in by the protocol layer from the service's own validation error
    (Batch: ClientException, Step Functions: ValidationException, ...).
    """

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message, status=400)
