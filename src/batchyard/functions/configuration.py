"""A function's configuration: Lambda's defaults, ranges and rules, and its API shape.

The stored document uses the member names of botocore's ``FunctionConfiguration`` so the API
answers are the document plus what is derived (ARN, log group, state).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from batchyard.protocol.errors import ServiceError

# Every supported runtime runs on the server's own interpreter.
SUPPORTED_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
DEFAULT_TIMEOUT = 3
MAX_TIMEOUT = 900
DEFAULT_MEMORY = 128
MIN_MEMORY, MAX_MEMORY = 128, 10240
MAX_ENVIRONMENT_BYTES = 4096

# Variables the Lambda runtime sets itself; a function may not override them.
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})

# Settings accepted and echoed back unchanged; they change nothing about how code runs here.
_PASSTHROUGH = ("VpcConfig", "DeadLetterConfig", "KMSKeyArn", "TracingConfig",
                "FileSystemConfigs", "ImageConfig", "SnapStart")


def invalid(message: str) -> ServiceError:
    """Lambda's InvalidParameterValueException."""
    return ServiceError("InvalidParameterValueException", message, Type="User")


def _range_error(field: str, value: int, low: int, high: int) -> None:
    if value < low:
        raise invalid(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise invalid(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}"
        )


def check_runtime(runtime: str) -> None:
    """Refuse runtimes this server cannot run, in the words Lambda uses for retired ones."""
    if runtime not in SUPPORTED_RUNTIMES:
        raise invalid(
            f"The runtime parameter of {runtime} is no longer supported for creating or "
            "updating AWS Lambda functions. We recommend you use a supported runtime while "
            f"creating or updating functions. Supported runtimes: {', '.join(SUPPORTED_RUNTIMES)}"
        )


def check_environment(environment: dict[str, Any]) -> dict[str, str]:
    """The function's variables, after Lambda's reserved-key and 4 KB checks."""
    variables = dict(environment.get("Variables") or {})
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise invalid(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. String measured: " + measured
        )
    return variables


def timestamp() -> str:
    """LastModified as Lambda writes it: ``2024-05-01T12:00:00.000+0000``."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def new_configuration(params: dict[str, Any]) -> dict[str, Any]:
    """The stored configuration of a function CreateFunction describes (no code fields yet)."""
    if params.get("PackageType") == "Image":
        raise invalid(
            "PackageType Image is not supported by this server; upload a .zip file in "
            "Code.ZipFile"
        )
    runtime, handler = params.get("Runtime"), params.get("Handler")
    if not runtime or not handler:
        raise invalid(
            "Runtime and Handler are mandatory parameters for functions created with "
            "deployment packages."
        )
    config: dict[str, Any] = {
        "Runtime": runtime,
        "Role": params["Role"],
        "Handler": handler,
        "Description": params.get("Description", ""),
        "Timeout": params.get("Timeout", DEFAULT_TIMEOUT),
        "MemorySize": params.get("MemorySize", DEFAULT_MEMORY),
        "PackageType": "Zip",
        "Architectures": params.get("Architectures") or ["x86_64"],
        "EphemeralStorage": params.get("EphemeralStorage") or {"Size": 512},
    }
    if "Environment" in params:
        config["Environment"] = {"Variables": check_environment(params["Environment"])}
    for name in _PASSTHROUGH:
        if name in params:
            config[name] = params[name]
    if "LoggingConfig" in params:
        config["LoggingConfig"] = params["LoggingConfig"]
    check_configuration(config)
    return config


def updated_configuration(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``current`` with the members UpdateFunctionConfiguration sets."""
    config = dict(current)
    for name in ("Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize",
                 "EphemeralStorage", "LoggingConfig", *_PASSTHROUGH):
        if name in params:
            config[name] = params[name]
    if "Environment" in params:
        config["Environment"] = {"Variables": check_environment(params["Environment"])}
    check_configuration(config)
    return config


def check_configuration(config: dict[str, Any]) -> None:
    """Apply Lambda's rules that the model's shapes do not carry."""
    check_runtime(config["Runtime"])
    _range_error("timeout", config["Timeout"], 1, MAX_TIMEOUT)
    _range_error("memorySize", config["MemorySize"], MIN_MEMORY, MAX_MEMORY)
    storage = config["EphemeralStorage"]["Size"]
    _range_error("ephemeralStorage.size", storage, 512, 10240)


def log_group(name: str, config: dict[str, Any]) -> str:
    """The log group the function writes to (``/aws/lambda/<name>`` unless configured)."""
    return (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"


def describe(name: str, arn: str, config: dict[str, Any], code: dict[str, Any],
             revision_id: str, last_modified: str, version: str) -> dict[str, Any]:
    """The ``FunctionConfiguration`` API shape."""
    out = {"FunctionName": name, "FunctionArn": arn, **config}
    out.update({
        "CodeSize": code["size"],
        "CodeSha256": code["sha256"],
        "Version": version,
        "LastModified": last_modified,
        "RevisionId": revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "TracingConfig": config.get("TracingConfig") or {"Mode": "PassThrough"},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {
            "LogFormat": "Text",
            **(config.get("LoggingConfig") or {}),
            "LogGroup": log_group(name, config),
        },
    })
    if not (config.get("Environment") or {}).get("Variables"):
        out.pop("Environment", None)
    if config.get("Layers"):
        out["Layers"] = [{"Arn": layer["Arn"], "CodeSize": layer["CodeSize"]}
                         for layer in config["Layers"]]
    return out


def with_layers(config: dict[str, Any], references: list[dict[str, Any]]) -> dict[str, Any]:
    """``config`` using the layer ``references`` (none: no ``Layers`` member)."""
    changed = {k: v for k, v in config.items() if k != "Layers"}
    if references:
        changed["Layers"] = references
    return changed
