"""Many rows in one SQLite statement: the rows travel as one JSON array parameter.

`executemany` steps SQLite once per row and releases and retakes the GIL around every
step, so a writer thread inserting thousands of rows a second keeps taking the GIL from
the event loop (py-spy on a loaded server: the log writer and the usage ledger, each
holding a core's worth of hand-offs). `INSERT ... SELECT ... FROM json_each(?)` is one
step, run with the GIL released from the first row to the last.

SQLite's JSON functions end a text value at an escaped NUL (`\\u0000`), so a batch with
one is inserted the old way; such messages are rare and still stored whole.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any


def insert_rows(db: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `insert` (an `INSERT ... (columns)` with no VALUES) for every row of `rows`."""
    if not rows:
        return
    width = len(rows[0])
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in payload:
        marks = ", ".join("?" * width)
        db.executemany(f"{insert} VALUES ({marks})", rows)
        return
    values = ", ".join(f"value->>{index}" for index in range(width))
    db.execute(f"{insert} SELECT {values} FROM json_each(?)", (payload,))
