"""Resource names and ARNs: the naming rule every Batch resource shares and the ARN shapes.

ARNs look like ``arn:aws:batch:<region>:<account>:<resource-type>/<name>`` (job definitions add
``:<revision>``). A reference a client sends may be a bare name or a full ARN; ``split_reference``
tells the two apart.
"""

from __future__ import annotations

import re

from batchyard.protocol.errors import ServiceError

# AWS also refuses names that start with a hyphen or an underscore.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_ARN = re.compile(r"arn:aws[a-z-]*:batch:([a-z0-9-]*):(\d*):([a-z-]+)/(.+)")

COMPUTE_ENVIRONMENT = "compute-environment"
JOB_QUEUE = "job-queue"
JOB_DEFINITION = "job-definition"
SCHEDULING_POLICY = "scheduling-policy"


def client_error(message: str) -> ServiceError:
    """The ``ClientException`` Batch answers for a request it refuses."""
    return ServiceError("ClientException", message)


def is_valid_name(value: str) -> bool:
    """True when ``value`` is 1-128 letters, digits, hyphens or underscores, starting with a
    letter or digit."""
    return NAME_PATTERN.fullmatch(value) is not None


def require_name(value: str, label: str) -> str:
    """``value`` if it is a valid resource name, else AWS's ClientException naming ``label``
    (e.g. "Job name", "Compute environment name")."""
    if not is_valid_name(value):
        raise client_error(
            f"Error executing request, Exception : {label} should match valid pattern"
        )
    return value


def batch_arn(region: str, account_id: str, resource_type: str, name: str) -> str:
    """The ARN of Batch resource ``resource_type/name`` in ``region`` and ``account_id``."""
    return f"arn:aws:batch:{region}:{account_id}:{resource_type}/{name}"


def parse_arn(value: str) -> tuple[str, str, str, str] | None:
    """(region, account, resource type, resource id) of a Batch ARN, None when not one."""
    match = _ARN.fullmatch(value)
    return match.groups() if match else None  # type: ignore[return-value]


def resource_type_of(arn: str) -> str | None:
    """The resource type part of a Batch ARN (``job-queue``, ``job`` ...), None when not one."""
    parsed = parse_arn(arn)
    return parsed[2] if parsed else None


def is_arn(value: str) -> bool:
    """True when ``value`` has the shape of an ARN rather than a name."""
    return value.startswith("arn:")
