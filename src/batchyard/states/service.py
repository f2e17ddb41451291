"""The Step Functions API object; the modules in ``states/handlers`` register on it."""

from __future__ import annotations

from batchyard.protocol.service import ServiceApi

api = ServiceApi("stepfunctions", validation_error="ValidationException")
