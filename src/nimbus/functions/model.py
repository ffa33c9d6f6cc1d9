"""Function configuration as the platform stores it, and its Lambda wire view."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

from nimbus.sandbox.spec import Isolation

LATEST = "$LATEST"


class InvocationType(enum.Enum):
    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


@dataclass(frozen=True)
class CodeRef:
    sha256: str
    size: int
    digest_hex: str


@dataclass(frozen=True)
class FunctionConfig:
    """One version of a function ($LATEST or a published number)."""

    name: str
    arn: str
    runtime: str
    handler: str
    role: str
    code: CodeRef
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    description: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    version: str = LATEST
    revision_id: str = ""
    last_modified: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def isolation(self) -> Isolation:
        value = self.environment.get("NIMBUS_ISOLATION") or self.tags.get("nimbus:isolation")
        return Isolation(value) if value else Isolation.ENVIRONMENT

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.version}"

    def replace(self, **changes: Any) -> FunctionConfig:
        return dataclasses.replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["architectures"] = list(self.architectures)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FunctionConfig:
        values = dict(record)
        values["code"] = CodeRef(**values["code"])
        values["architectures"] = tuple(values["architectures"])
        return cls(**values)
