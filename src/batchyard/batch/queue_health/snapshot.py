"""The fair-share part of GetJobQueueSnapshot's ``queueUtilization``."""

from __future__ import annotations

from typing import Any

from batchyard.batch.scheduler.policies import SchedulingPolicies

# The console's "Active shares" tab shows the 20 busiest shares.
TOP_SHARES = 20


def fairshare_utilization(policies: SchedulingPolicies, queue_arn: str) -> dict[str, Any] | None:
    """``fairshareUtilization`` of a fair-share queue, None for a FIFO queue."""
    if policies.setting(queue_arn).policy is None:
        return None
    active, used = policies.share_utilization(queue_arn)
    return {
        "activeShareCount": active,
        "topCapacityUtilization": [
            {
                "shareIdentifier": share,
                "capacityUsage": [{"capacityUnit": "vCPU", "quantity": vcpus}],
            }
            for share, vcpus in used[:TOP_SHARES]
        ],
    }
