"""What an execution environment is started with."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class Isolation(enum.Enum):
    """`environment`: warm reuse (Lambda's default); `invocation`: fresh fork per call."""

    ENVIRONMENT = "environment"
    INVOCATION = "invocation"


@dataclass(frozen=True)
class EnvironmentSpec:
    function_name: str
    version: str
    revision: str
    runtime: str
    interpreter: str
    handler: str
    memory_mb: int
    timeout_s: int
    ephemeral_mb: int
    code_dir: Path
    isolation: Isolation
    environ: Mapping[str, str] = field(default_factory=dict)

    @property
    def pool_key(self) -> tuple[str, str, str]:
        """Environments are reusable only for the same function, version and revision."""
        return (self.function_name, self.version, self.revision)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"
