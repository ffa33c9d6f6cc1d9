"""Concurrent execution limits: the account pool and per-function reservations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from nimbus.errors import InvalidParameterValue, TooManyRequests


class ConcurrencyLimiter:
    """Counts in-flight invocations; throttles with Lambda's reasons.

    Functions with a reservation draw only on it; the others share what is left of
    the account limit after all reservations (the unreserved pool).
    """

    def __init__(self, account_limit: int, unreserved_minimum: int) -> None:
        self.account_limit = account_limit
        self.unreserved_minimum = unreserved_minimum
        self._running: Counter[str] = Counter()
        self._unreserved_running = 0

    def acquire(self, function: str, reserved: int | None, reservations: Mapping[str, int]) -> None:
        if reserved is not None:
            if self._running[function] >= reserved:
                raise TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded")
        elif self._unreserved_running >= self.unreserved_pool(reservations):
            raise TooManyRequests("ConcurrentInvocationLimitExceeded")
        else:
            self._unreserved_running += 1
        self._running[function] += 1

    def release(self, function: str, reserved: int | None) -> None:
        self._running[function] -= 1
        if self._running[function] <= 0:
            del self._running[function]
        if reserved is None:
            self._unreserved_running -= 1

    def running(self, function: str | None = None) -> int:
        return self._running[function] if function else sum(self._running.values())

    def unreserved_pool(self, reservations: Mapping[str, int]) -> int:
        return self.account_limit - sum(reservations.values())

    def check_reservation(self, function: str, value: int, reservations: Mapping[str, int]) -> None:
        others = sum(v for name, v in reservations.items() if name != function)
        unreserved = self.account_limit - others
        if value > unreserved:
            raise InvalidParameterValue(
                "Specified ConcurrentExecutions for function is greater than account's "
                f"unreserved concurrency [{unreserved}]."
            )
        if unreserved - value < self.unreserved_minimum:
            raise InvalidParameterValue(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                "UnreservedConcurrentExecution below its minimum value of "
                f"[{self.unreserved_minimum}]."
            )
