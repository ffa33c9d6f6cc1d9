"""The sequencer of S3 event records: a hex string that grows with every change.

S3 only promises that for one key a later change has a larger sequencer (compared after
left-padding). Here it is a counter over the whole store, kept in the same commit as the
change it numbers, so it keeps growing across restarts. Values are issued in submission
order; the stored value only ever grows, whatever order their commits land in.
"""

from __future__ import annotations

from nimbus.store.groupcommit import Statement

META_KEY = "sequencer"
DIGITS = 16
_RECORD = (
    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
    "CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)"
)


class Sequencer:
    def __init__(self, last: int = 0) -> None:
        self._last = last

    def next(self) -> tuple[str, Statement]:
        """The next value and the statement that records it (commit them together)."""
        self._last += 1
        return format_sequencer(self._last), (_RECORD, (META_KEY, str(self._last)))


def format_sequencer(value: int) -> str:
    return f"{value:0{DIGITS}X}"
