"""What one invocation in an environment produced, before it becomes a Lambda response."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass


class OutcomeKind(enum.Enum):
    OK = "ok"
    HANDLER_ERROR = "error"
    INIT_ERROR = "init_error"
    TIMEOUT = "timeout"
    EXITED = "exited"
    OUT_OF_MEMORY = "out_of_memory"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    payload: bytes
    logs: bytes
    duration_ms: float
    init_ms: float | None = None
    max_memory_bytes: int | None = None
    exit_status: int | None = None

    @property
    def failed(self) -> bool:
        return self.kind is not OutcomeKind.OK

    @property
    def environment_lost(self) -> bool:
        """The environment cannot serve another invocation after this outcome."""
        return self.kind not in (OutcomeKind.OK, OutcomeKind.HANDLER_ERROR)

    def with_init(self, init_ms: float | None) -> Outcome:
        return dataclasses.replace(self, init_ms=init_ms)
