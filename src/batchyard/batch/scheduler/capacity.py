"""What is left to give: each compute environment's share of ``maxvCpus`` and the host's
memory and GPUs (all local environments share one host)."""

from __future__ import annotations

from collections import defaultdict

from batchyard.batch.jobs.model import Demand
from batchyard.compute.provider import HostCapacity


class CapacityLedger:
    """Reservations of placed attempts against environment and host limits."""

    def __init__(self, host: HostCapacity) -> None:
        self.host = host
        self._vcpus: dict[str, float] = defaultdict(float)
        self._memory = 0
        self._gpus = 0

    def used_vcpus(self, environment_arn: str) -> float:
        """vCPUs reserved on ``environment_arn``."""
        return self._vcpus[environment_arn]

    def could_ever_fit(self, demand: Demand, max_vcpus: float) -> bool:
        """Whether ``demand`` fits an empty environment of ``max_vcpus`` on this host."""
        return (
            demand.vcpus <= max_vcpus
            and demand.memory <= self.host.memory_mib
            and demand.gpus <= self.host.gpus
        )

    def fits(self, environment_arn: str, max_vcpus: float, demand: Demand) -> bool:
        """Whether ``demand`` fits what ``environment_arn`` and the host have free now."""
        return (
            self._vcpus[environment_arn] + demand.vcpus <= max_vcpus + 1e-9
            and self._memory + demand.memory <= self.host.memory_mib
            and self._gpus + demand.gpus <= self.host.gpus
        )

    def reserve(self, environment_arn: str, demand: Demand) -> None:
        """Take ``demand`` from ``environment_arn`` and the host."""
        self._vcpus[environment_arn] += demand.vcpus
        self._memory += demand.memory
        self._gpus += demand.gpus

    def release(self, environment_arn: str, demand: Demand) -> None:
        """Give back what ``reserve`` took."""
        left = self._vcpus[environment_arn] - demand.vcpus
        if left <= 1e-9:
            self._vcpus.pop(environment_arn, None)
        else:
            self._vcpus[environment_arn] = left
        self._memory -= demand.memory
        self._gpus -= demand.gpus
