"""An in-memory record store: same contract as the durable ones, nothing survives."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator

from nimbus.store.base import Record


class MemoryStore:
    def __init__(self) -> None:
        self._tables: dict[str, dict[str, Record]] = defaultdict(dict)

    def get(self, table: str, key: str) -> Record | None:
        record = self._tables[table].get(key)
        return copy.deepcopy(record) if record is not None else None

    def put(self, table: str, key: str, record: Record) -> None:
        self._tables[table][key] = copy.deepcopy(record)

    def delete(self, table: str, key: str) -> bool:
        return self._tables[table].pop(key, None) is not None

    def scan(self, table: str, after: str | None = None) -> Iterator[tuple[str, Record]]:
        for key in sorted(self._tables[table]):
            if after is None or key > after:
                yield key, copy.deepcopy(self._tables[table][key])

    def close(self) -> None:
        self._tables.clear()
