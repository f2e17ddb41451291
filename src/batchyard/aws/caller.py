"""Who is asking: the account and region a request (or a job, or an execution) acts in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from batchyard.aws import arns


@dataclass(frozen=True, slots=True)
class Caller:
    """The account and region of one request, and its request id.

    Every facade method takes one: resources are created, found and listed in the caller's
    account and region, and the ARNs it builds carry them.
    """

    account_id: str
    region: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def arn(self, service: str, resource: str) -> str:
        """The ARN of ``resource`` of ``service`` in this caller's account and region."""
        return arns.build(service, self.region, self.account_id, resource)

    def owns(self, arn: str) -> bool:
        """Whether ``arn`` names something in this caller's account and region (anything else
        does not exist for this caller)."""
        parsed = arns.parse(arn)
        return (
            parsed is not None
            and parsed.account == self.account_id
            and parsed.region == self.region
        )

    def acting_for(self, arn: str) -> Caller:
        """A caller in the account and region of ``arn`` (work done for that resource later:
        a rule's target, a job's task); this caller when ``arn`` names neither."""
        return owner_of(arn) or self


def owner_of(arn: str) -> Caller | None:
    """A caller in the account and region ``arn`` names, None when it names neither."""
    parsed = arns.parse(arn)
    if parsed is None or not parsed.region or not parsed.account:
        return None
    return Caller(parsed.account, parsed.region)
