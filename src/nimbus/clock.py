"""The platform's wall clock: the one callable every service asks for "now".

It is injected so a test (or a rehearsal) can place the platform anywhere in time, such
as the last second of a month, and compute its expectations from the same clock. Elapsed
times (timeouts, keep-warm, rates) are measured with `time.monotonic`, which no offset
touches; request signatures are checked against the host's own clock, as the client's
clock is what they carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds since the epoch, like `time.time`."""


def system_clock(offset_seconds: float = 0.0) -> Clock:
    """The host's clock, shifted by `offset_seconds` (Settings.clock_offset_seconds)."""
    if not offset_seconds:
        return time.time

    def shifted() -> float:
        return time.time() + offset_seconds

    return shifted


def epoch_ms(clock: Clock) -> int:
    """`clock`'s now in whole epoch milliseconds, the unit of log events and usage records."""
    return int(clock() * 1000)
