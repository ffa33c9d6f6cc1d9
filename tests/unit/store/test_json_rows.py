"""insert_rows stores exactly what executemany would, whatever the text holds."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from nimbus.store.json_rows import insert_rows

TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT, b INTEGER, c REAL)"
INSERT = "INSERT INTO t (a, b, c)"

# SQLite text is UTF-8: lone surrogates cannot be stored by either path
texts = st.text(st.characters(exclude_categories=("Cs",)))
rows = st.lists(
    st.tuples(
        texts,
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
    ),
    max_size=20,
)


def _stored(fill: object) -> list[tuple[object, ...]]:
    db = sqlite3.connect(":memory:")
    db.execute(TABLE)
    fill(db)  # type: ignore[operator]
    return db.execute("SELECT id, a, b, c FROM t ORDER BY id").fetchall()


@given(rows)
def test_same_rows_as_executemany(batch: list[tuple[str, int, float]]) -> None:
    expected = _stored(lambda db: db.executemany(f"{INSERT} VALUES (?, ?, ?)", batch))
    assert _stored(lambda db: insert_rows(db, INSERT, batch)) == expected


def test_text_with_nul_is_kept_whole() -> None:
    batch = [("a\x00b", 1, 0.5), ("plain", 2, 1.0)]
    assert _stored(lambda db: insert_rows(db, INSERT, batch)) == [
        (1, "a\x00b", 1, 0.5),
        (2, "plain", 2, 1.0),
    ]


def test_no_rows_is_no_statement() -> None:
    assert _stored(lambda db: insert_rows(db, INSERT, [])) == []
