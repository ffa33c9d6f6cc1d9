"""events.db: buses, rules, targets, pending deliveries, schedules, archives, replays.

Every change is a list of statements committed through a `GroupCommitter` (WAL, fsync)
before the caller is answered; the registry and the dispatcher keep their working sets
in memory and read this file only when the platform starts. An event is written with
its delivery rows (one per matching rule and target) in one commit (and a scheduled
firing with its schedule mark), so an event the router accepted is never lost and a
schedule time never fires twice. An event no rule matched is not stored: nothing is
left to do with it. Archived events (`archived`) are written in that same commit, and a
replay's cursor in the commit of the delivery rows its batch made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.events.codec import (
    archive_from_row,
    replay_from_row,
    rule_from_row,
    target_from_json,
    target_to_json,
    targets_to_json,
)
from nimbus.events.model import Archive, EventBus, Replay, ReplayState, Rule, Target
from nimbus.store.groupcommit import GroupCommitter, Statement

SCHEMA = """
CREATE TABLE IF NOT EXISTS buses (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, description TEXT, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rules (
    bus TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL, state TEXT NOT NULL,
    pattern TEXT, schedule TEXT, description TEXT, role_arn TEXT, anchor REAL NOT NULL,
    targets TEXT NOT NULL,
    PRIMARY KEY (bus, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, ingested REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, target TEXT NOT NULL,
    rule_arn TEXT NOT NULL, payload TEXT, attempts INTEGER NOT NULL, due REAL NOT NULL,
    trail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS schedule_marks (rule_arn TEXT PRIMARY KEY, fired REAL NOT NULL);
CREATE TABLE IF NOT EXISTS archives (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, bus_arn TEXT NOT NULL, description TEXT,
    pattern TEXT, retention_days INTEGER NOT NULL, created REAL NOT NULL, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archived (
    seq INTEGER PRIMARY KEY, archive TEXT NOT NULL, time REAL NOT NULL,
    stored REAL NOT NULL, event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS archived_by_time ON archived (archive, time, seq);
CREATE TABLE IF NOT EXISTS replays (
    name TEXT PRIMARY KEY, arn TEXT NOT NULL, archive_arn TEXT NOT NULL, description TEXT,
    start REAL NOT NULL, end REAL NOT NULL, destination TEXT NOT NULL, filters TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT, started REAL NOT NULL, ended REAL,
    last_replayed REAL, cursor INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """One event on its way to one target; `target` is the target as it was then."""

    id: int
    event_id: str
    event: str  # the envelope's JSON text, shared by every delivery of the event
    ingested: float  # when the router accepted it: MaximumEventAgeInSeconds counts from here
    target: Target
    rule_arn: str
    payload: str | None  # the rendered input; None: the event itself
    attempts: int = 0
    due: float = 0.0
    trail: tuple[str, ...] = ()  # buses the event has passed through (cycle guard)

    @property
    def body(self) -> str:
        return self.event if self.payload is None else self.payload


class EventStore:
    def __init__(self, path: Path) -> None:
        self._db = GroupCommitter(path, SCHEMA, name="events-store")

    async def commit(self, statements: list[Statement]) -> None:
        if statements:
            await self._db.commit(statements)

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self._db.read(sql, params)

    def close(self) -> None:
        self._db.close()

    # -- loading at start ---------------------------------------------------------------

    def buses(self) -> list[EventBus]:
        rows = self.read("SELECT name, arn, description, created FROM buses")
        return [EventBus(*row) for row in rows]

    def rules(self) -> list[Rule]:
        rows = self.read(
            "SELECT bus, name, arn, state, pattern, schedule, description, role_arn, anchor,"
            " targets FROM rules"
        )
        return [rule_from_row(row) for row in rows]

    def deliveries(self) -> list[PendingDelivery]:
        rows = self.read(
            "SELECT d.id, d.event_id, e.body, e.ingested, d.target, d.rule_arn, d.payload,"
            " d.attempts, d.due, d.trail FROM deliveries d JOIN events e ON e.id = d.event_id"
            " ORDER BY d.id"
        )
        bodies: dict[str, str] = {}  # one string per event, however many targets it has
        return [_delivery(row, bodies) for row in rows]

    def last_delivery_id(self) -> int:
        return int(self.read("SELECT coalesce(max(id), 0) FROM deliveries")[0][0])

    def schedule_marks(self) -> dict[str, float]:
        return dict(self.read("SELECT rule_arn, fired FROM schedule_marks"))

    def archives(self) -> list[Archive]:
        return [archive_from_row(row) for row in self.read("SELECT * FROM archives")]

    def replays(self) -> list[Replay]:
        return [replay_from_row(row) for row in self.read("SELECT * FROM replays")]

    def archive_stats(self) -> dict[str, tuple[int, int]]:
        """(event count, bytes) per archive: SizeBytes counts the envelopes' UTF-8 bytes."""
        rows = self.read(
            "SELECT archive, count(*), coalesce(sum(length(CAST(event AS BLOB))), 0)"
            " FROM archived GROUP BY archive"
        )
        return {name: (count, size) for name, count, size in rows}

    def archived_after(
        self, archive: str, position: tuple[float, int], end: float, limit: int
    ) -> list[tuple[int, float, str]]:
        """(seq, event time, envelope) of `archive` after `position` (event time, seq) and
        before `end`, in that order: a replay's next batch, found on archived_by_time."""
        after, seq = position
        return self.read(
            "SELECT seq, time, event FROM archived WHERE archive = ? AND time < ?"
            " AND (time > ? OR (time = ? AND seq > ?)) ORDER BY time, seq LIMIT ?",
            (archive, end, after, after, seq, limit),
        )


# -- statements -------------------------------------------------------------------------


def put_bus(bus: EventBus) -> Statement:
    return (
        "INSERT OR REPLACE INTO buses VALUES (?, ?, ?, ?)",
        (bus.name, bus.arn, bus.description, bus.created),
    )


def delete_bus(name: str) -> list[Statement]:
    return [
        ("DELETE FROM buses WHERE name = ?", (name,)),
        ("DELETE FROM rules WHERE bus = ?", (name,)),
    ]


def put_rule(rule: Rule) -> Statement:
    targets = targets_to_json(rule.targets)
    return (
        "INSERT OR REPLACE INTO rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rule.bus, rule.name, rule.arn, rule.state.value,
            rule.pattern.text if rule.pattern else None, rule.schedule,
            rule.description, rule.role_arn, rule.anchor, targets,
        ),
    )  # fmt: skip


def delete_rule(rule: Rule) -> list[Statement]:
    return [
        ("DELETE FROM rules WHERE bus = ? AND name = ?", (rule.bus, rule.name)),
        ("DELETE FROM schedule_marks WHERE rule_arn = ?", (rule.arn,)),
    ]


def insert_event(event_id: str, body: str, ingested: float) -> Statement:
    return ("INSERT OR IGNORE INTO events VALUES (?, ?, ?)", (event_id, body, ingested))


def insert_delivery(delivery: PendingDelivery) -> Statement:
    return (
        "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery.id, delivery.event_id, json.dumps(target_to_json(delivery.target)),
            delivery.rule_arn, delivery.payload, delivery.attempts, delivery.due,
            json.dumps(list(delivery.trail)),
        ),
    )  # fmt: skip


def retry_delivery(delivery: PendingDelivery) -> Statement:
    return (
        "UPDATE deliveries SET attempts = ?, due = ? WHERE id = ?",
        (delivery.attempts, delivery.due, delivery.id),
    )


def delete_delivery(delivery: PendingDelivery) -> list[Statement]:
    """The row, and its event once no other delivery needs it."""
    return [
        ("DELETE FROM deliveries WHERE id = ?", (delivery.id,)),
        (
            "DELETE FROM events WHERE id = ?"
            " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)",
            (delivery.event_id, delivery.event_id),
        ),
    ]


def mark_schedule(rule_arn: str, fired: float) -> Statement:
    return ("INSERT OR REPLACE INTO schedule_marks VALUES (?, ?)", (rule_arn, fired))


def put_archive(archive: Archive) -> Statement:
    return (
        "INSERT OR REPLACE INTO archives VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            archive.name, archive.arn, archive.bus_arn, archive.description,
            archive.pattern.text if archive.pattern else None, archive.retention_days,
            archive.created, archive.state.value,
        ),
    )  # fmt: skip


def delete_archive(name: str) -> list[Statement]:
    return [
        ("DELETE FROM archives WHERE name = ?", (name,)),
        ("DELETE FROM archived WHERE archive = ?", (name,)),
    ]


def archive_event(archive: str, event_time: float, stored: float, event: str) -> Statement:
    return (
        "INSERT INTO archived (archive, time, stored, event) VALUES (?, ?, ?, ?)",
        (archive, event_time, stored, event),
    )


def expire_archived(archive: str, stored_before: float) -> Statement:
    return ("DELETE FROM archived WHERE archive = ? AND stored < ?", (archive, stored_before))


def put_replay(replay: Replay) -> Statement:
    return (
        "INSERT OR REPLACE INTO replays VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            replay.name, replay.arn, replay.archive_arn, replay.description, replay.start,
            replay.end, replay.destination, json.dumps(list(replay.filter_arns)),
            replay.state.value, replay.reason, replay.started, replay.ended,
            replay.last_replayed, replay.cursor,
        ),
    )  # fmt: skip


def replay_progress(name: str, cursor: int, last_replayed: float) -> Statement:
    """Only the cursor columns: a concurrent CancelReplay's state is never overwritten."""
    return (
        "UPDATE replays SET cursor = ?, last_replayed = ? WHERE name = ?",
        (cursor, last_replayed, name),
    )


def replay_state(
    name: str, state: ReplayState, ended: float | None, reason: str | None = None
) -> Statement:
    return (
        "UPDATE replays SET state = ?, ended = ?, reason = ? WHERE name = ?",
        (state.value, ended, reason, name),
    )


def _delivery(row: tuple[Any, ...], bodies: dict[str, str]) -> PendingDelivery:
    return PendingDelivery(
        row[0], row[1], bodies.setdefault(row[1], row[2]), row[3],
        target_from_json(json.loads(row[4])), row[5], row[6], row[7], row[8],
        tuple(json.loads(row[9])),
    )  # fmt: skip
