"""The Step Functions API object; the modules in ``states/handlers`` register on it."""

from __future__ import annotations

from batchyard.protocol.legacy import LegacyApi

api = LegacyApi("stepfunctions", validation_error="ValidationException")
