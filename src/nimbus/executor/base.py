"""The executor contract.

An executor runs invocations in execution environments it owns. It must:
- run at most one invocation at a time in an environment;
- reuse a warm environment of the same function, version and revision when one is idle,
  and start one (a cold start) otherwise; report `cold` and the init duration then;
- discard an environment after any outcome that leaves it unusable (timeout, crash,
  out of memory, init failure) so the next invocation gets a fresh one;
- reap environments idle for longer than the keep-warm time, so idle costs nothing;
- on `stop`, let in-flight invocations finish within the grace period, then kill.
Concurrency limits are enforced by the caller before `invoke`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nimbus.sandbox.environment import Invocation
from nimbus.sandbox.outcome import Outcome
from nimbus.sandbox.spec import EnvironmentSpec


@dataclass(frozen=True)
class ExecutorStats:
    warm: int
    busy: int
    cold_starts: int
    zygotes: int


@dataclass(frozen=True)
class Execution:
    outcome: Outcome
    cold: bool
    log_stream: str


class Executor(Protocol):
    async def start(self) -> None: ...

    async def invoke(self, spec: EnvironmentSpec, invocation: Invocation) -> Execution: ...

    def prewarm(self, interpreter: str) -> None: ...

    async def retire(self, function_name: str) -> None: ...

    async def stop(self, grace_s: float) -> None: ...

    def stats(self) -> ExecutorStats: ...
