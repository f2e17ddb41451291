"""How much of a fair-share queue each share identifier has been using.

AWS charges a share identifier its vCPU usage over time and hands the next job to the share
with the least (weighted) usage; ``shareDecaySeconds`` is how far back that usage reaches.
Here each identifier keeps the vCPUs its jobs hold now and an exponentially decayed average
of them, with ``shareDecaySeconds`` as the time constant (0: only what runs now counts).
The charge compared between shares is the average plus what runs now, so jobs handed out
in one scheduling pass count at once, before any time has passed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(slots=True)
class _Account:
    running: float = 0.0
    average: float = 0.0
    at: float = 0.0
    last_active: float = 0.0


class ShareUsage:
    """Running and decayed vCPU usage per share identifier of one queue."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._accounts: dict[str, _Account] = {}

    def start(self, share: str, vcpus: float, decay_seconds: float) -> None:
        """A job of ``share`` holding ``vcpus`` left the queue for the host."""
        account = self._advance(share, decay_seconds)
        account.running += vcpus

    def stop(self, share: str, vcpus: float, decay_seconds: float) -> None:
        """A job of ``share`` holding ``vcpus`` left the host."""
        account = self._advance(share, decay_seconds)
        account.running = max(0.0, account.running - vcpus)
        if account.running <= 1e-9 and decay_seconds <= 0:
            # Without a decay window an idle share has no history worth keeping.
            del self._accounts[share]

    def charge(self, share: str, decay_seconds: float) -> float:
        """The usage ``share`` is compared by (not yet weighted)."""
        account = self._accounts.get(share)
        if account is None:
            return 0.0
        account = self._advance(share, decay_seconds)
        return account.average + account.running

    def running(self, share: str) -> float:
        """vCPUs ``share``'s jobs hold now."""
        account = self._accounts.get(share)
        return account.running if account else 0.0

    def total_running(self) -> float:
        """vCPUs all shares' jobs hold now."""
        return sum(account.running for account in self._accounts.values())

    def active(self, share: str, decay_seconds: float) -> bool:
        """Whether ``share`` ran a job within the decay window (or runs one now)."""
        account = self._accounts.get(share)
        if account is None:
            return False
        return account.running > 0 or self._clock() - account.last_active <= decay_seconds

    def shares(self) -> list[str]:
        """Identifiers with any usage on record."""
        return list(self._accounts)

    def _advance(self, share: str, decay_seconds: float) -> _Account:
        now = self._clock()
        account = self._accounts.get(share)
        if account is None:
            account = self._accounts[share] = _Account(at=now, last_active=now)
            return account
        elapsed = max(0.0, now - account.at)
        if decay_seconds <= 0:
            account.average = account.running
        elif elapsed:
            keep = math.exp(-elapsed / decay_seconds)
            account.average = account.average * keep + account.running * (1.0 - keep)
        account.at = now
        if account.running > 0:
            account.last_active = now
        return account
