"""Amazon Resource Names: ``arn:<partition>:<service>:<region>:<account>:<resource>``.

One parser for every service. The resource part is split once into its type and its id at
the first ``/`` or ``:`` (``job-queue/q``, ``stateMachine:m:1``, ``log-group:g:*``), which is
how every service here names its resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|\d*):(.+)", re.DOTALL)
_SPLIT = re.compile(r"[:/]")


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """The resource's type: ``job-queue``, ``stateMachine``, ``function`` ..."""
        return _SPLIT.split(self.resource, maxsplit=1)[0]

    @property
    def resource_id(self) -> str:
        """What follows the resource type and its separator (may hold more separators)."""
        return self.resource[len(self.resource_type) + 1 :]

    @property
    def prefix(self) -> str:
        """``arn:<partition>:<service>:<region>:<account>``, for ARNs of sibling resources."""
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}"

    def __str__(self) -> str:
        return f"{self.prefix}:{self.resource}"


def parse(text: str, service: str | None = None) -> Arn | None:
    """The ARN ``text`` stands for (of ``service`` when given), or None when it is not one."""
    match = _ARN.fullmatch(text)
    if match is None:
        return None
    arn = Arn(*match.groups())
    if service is not None and arn.service != service:
        return None
    return arn


def build(service: str, region: str, account: str, resource: str) -> str:
    """The ARN of ``resource`` in the ``aws`` partition."""
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def is_arn(value: str) -> bool:
    """True when ``value`` has the shape of an ARN rather than of a name."""
    return value.startswith("arn:")
