"""The record store contract.

A store holds JSON records in named tables, keyed by string. Every write is durable
when the call returns (the platform acknowledges only after that). `scan` yields
records in key order, starting after `after` when given. Implementations: `memory`
(tests, ephemeral), `sqlite` (embedded default); PostgreSQL comes with cluster mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

Record = dict[str, Any]


class RecordStore(Protocol):
    def get(self, table: str, key: str) -> Record | None: ...

    def put(self, table: str, key: str, record: Record) -> None: ...

    def delete(self, table: str, key: str) -> bool: ...

    def scan(self, table: str, after: str | None = None) -> Iterator[tuple[str, Record]]: ...

    def close(self) -> None: ...
