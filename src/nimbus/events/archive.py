"""Archives: which events a bus keeps, for how long, and how many it holds.

An archive watches one bus. The router asks `capture` for every event it accepts on a bus
and adds the returned rows to the SAME commit as the event and its delivery rows, so an
archived event is as durable as a delivered one and there is no second write path. An
ENABLED archive keeps the events its pattern matches (every event without a pattern),
with the envelope as delivered and the event's own `time`, which is what a replay's
window selects on. Events that carry `replay-name` were replayed and are not archived
again (AWS: "Replayed events are not sent to an archive").

Retention counts from when the event was archived, not from its `time` (a caller may
date an event in the past). `sweep` deletes what is older than RetentionDays; the
service runs it on the router's timer every `archive_sweep_interval_s` (an hour by
default): retention is in days, so nothing needs to look more often.

EventCount and SizeBytes are kept in memory: counted from events.db at start, added to
after each commit, recounted for an archive after a sweep deleted some of its events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nimbus.clock import Clock
from nimbus.errors import NimbusError, ValidationError
from nimbus.events import store
from nimbus.events.bus_errors import LimitExceeded, archive_exists, no_archive, no_bus
from nimbus.events.model import Archive, ArchiveState, bus_name_of
from nimbus.events.pages import page
from nimbus.events.registry import EventRegistry, compile_checked
from nimbus.events.store import EventStore
from nimbus.events.timer import Timer
from nimbus.store.groupcommit import Statement

logger = logging.getLogger(__name__)

REPLAY_NAME = "replay-name"
DAY_S = 86_400
MAX_ARCHIVES = 200  # nimbus's bound (AWS's quota is per account and adjustable)
NOTHING_TO_UPDATE = "At least one of EventPattern, RetentionDays or Description must be provided."
# Not recorded from AWS: the form EventBridge uses for ARNs it cannot parse (PutTargets).
BAD_SOURCE_ARN = (
    "Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format."
)


@dataclass(frozen=True, slots=True)
class ArchiveStats:
    count: int = 0
    size: int = 0  # UTF-8 bytes of the archived envelopes


@dataclass(frozen=True, slots=True)
class Captured:
    """One event bound for one archive: the row to commit, counted once it is committed."""

    archive: str
    size: int
    statement: Statement


def event_time(fields: dict[str, Any], fallback: float) -> float:
    """The envelope's `time` in epoch seconds; `fallback` for one that is not RFC 3339."""
    text = fields.get("time")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return fallback


def event_key(fields: dict[str, Any]) -> str:
    """The key of an event's rows in events.db (and a FIFO target's deduplication id).

    A replayed event keeps its id in the envelope but is keyed apart from the original,
    whose rows may still be pending with the envelope that has no `replay-name`.
    """
    replay = fields.get(REPLAY_NAME)
    return str(fields["id"]) if replay is None else f"{fields['id']}/{replay}"


class Archives:
    def __init__(self, events_store: EventStore, registry: EventRegistry, clock: Clock) -> None:
        self._store = events_store
        self._registry = registry
        self._clock = clock
        self._archives: dict[str, Archive] = {}
        self._stats: dict[str, ArchiveStats] = {}
        self._by_bus: dict[str, list[Archive]] = {}

    def load(self) -> None:
        self._archives = {a.name: a for a in self._store.archives()}
        self._stats = {n: ArchiveStats(*s) for n, s in self._store.archive_stats().items()}
        self._reindex()

    def arn(self, name: str) -> str:
        return self._registry.bus_arn(name).replace(":event-bus/", ":archive/", 1)

    # -- the API --------------------------------------------------------------------------

    def get(self, name: str) -> Archive:
        found = self._archives.get(name)
        if found is None:
            raise no_archive(name)
        return found

    def find(self, arn: str) -> Archive | None:
        """The archive an ARN names (StartReplay's EventSourceArn), if it exists."""
        found = self._archives.get(arn.rpartition(":archive/")[2])
        return found if found is not None and found.arn == arn else None

    def stats(self, name: str) -> ArchiveStats:
        return self._stats.get(name, ArchiveStats())

    async def create(
        self,
        name: str,
        source_arn: str,
        *,
        pattern: str | None = None,
        description: str | None = None,
        retention_days: int | None = None,
    ) -> Archive:
        if name in self._archives:
            raise archive_exists(name)
        bus_arn = self._bus_arn(source_arn)
        compiled = compile_checked(pattern) if pattern else None
        if len(self._archives) >= MAX_ARCHIVES:
            raise LimitExceeded()
        archive = Archive(
            name, self.arn(name), bus_arn, description, compiled,
            _retention(retention_days), self._clock(),
        )  # fmt: skip
        await self._save(archive)
        return archive

    async def update(
        self,
        name: str,
        *,
        pattern: str | None = None,
        description: str | None = None,
        retention_days: int | None = None,
    ) -> Archive:
        # AWS answers an unknown archive here with InternalException (recorded); nimbus
        # says what DescribeArchive and DeleteArchive say, never a 500.
        archive = self.get(name)
        if pattern is None and description is None and retention_days is None:
            raise ValidationError(NOTHING_TO_UPDATE)
        if pattern is not None:
            archive = replace(archive, pattern=compile_checked(pattern) if pattern else None)
        if description is not None:
            archive = replace(archive, description=description)
        if retention_days is not None:
            archive = replace(archive, retention_days=_retention(retention_days))
        await self._save(archive)
        return archive

    async def delete(self, name: str) -> None:
        self.get(name)
        await self._store.commit(store.delete_archive(name))
        del self._archives[name]
        self._stats.pop(name, None)
        self._reindex()

    def page(
        self,
        prefix: str | None = None,
        source_arn: str | None = None,
        state: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[Archive], str | None]:
        bus_arn = self._bus_arn(source_arn) if source_arn else None
        chosen = [
            a
            for a in self._archives.values()
            if (not prefix or a.name.startswith(prefix))
            and (bus_arn is None or a.bus_arn == bus_arn)
            and (state is None or a.state.value == state)
        ]
        return page(chosen, lambda a: a.name, token, limit)

    # -- the router's side ------------------------------------------------------------------

    def capture(self, bus: str, fields: dict[str, Any], text: str, now: float) -> list[Captured]:
        """The rows that archive this event (accepted on `bus`) in its commit."""
        if REPLAY_NAME in fields:
            return []
        wanted = [
            a for a in self._by_bus.get(bus, ()) if a.pattern is None or a.pattern.matches(fields)
        ]
        if not wanted:
            return []
        when = event_time(fields, now)
        size = len(text.encode("utf-8", errors="surrogatepass"))
        return [
            Captured(a.name, size, store.archive_event(a.name, when, now, text)) for a in wanted
        ]

    def watches(self, bus: str) -> bool:
        return bool(self._by_bus.get(bus))

    def counted(self, captured: Iterable[Captured]) -> None:
        """Rows `capture` gave that are now committed."""
        for row in captured:
            old = self._stats.get(row.archive, ArchiveStats())
            self._stats[row.archive] = ArchiveStats(old.count + 1, old.size + row.size)

    async def sweep(self) -> int:
        """Delete events past their archive's retention; how many archives it touched."""
        now = self._clock()
        kept = [a for a in self._archives.values() if a.retention_days > 0]
        if not kept:
            return 0
        await self._store.commit(
            [store.expire_archived(a.name, now - a.retention_days * DAY_S) for a in kept]
        )
        counts = self._store.archive_stats()
        for archive in kept:
            self._stats[archive.name] = ArchiveStats(*counts.get(archive.name, (0, 0)))
        return len(kept)

    # -- inside ---------------------------------------------------------------------------

    def _bus_arn(self, source_arn: str) -> str:
        """The ARN of the existing bus `source_arn` names."""
        if ":event-bus/" not in source_arn:
            raise ValidationError(BAD_SOURCE_ARN)
        name = bus_name_of(source_arn)
        bus = self._registry.bus(name)
        if bus.arn != source_arn:  # another region's or account's bus of that name
            raise no_bus(name)
        return bus.arn

    async def _save(self, archive: Archive) -> None:
        await self._store.commit([store.put_archive(archive)])
        self._archives[archive.name] = archive
        self._reindex()

    def _reindex(self) -> None:
        by_bus: dict[str, list[Archive]] = {}
        for archive in self._archives.values():
            if archive.state is ArchiveState.ENABLED:
                by_bus.setdefault(bus_name_of(archive.bus_arn), []).append(archive)
        self._by_bus = by_bus


def _retention(days: int | None) -> int:
    if days is None:
        return 0  # kept forever, AWS's default
    if days < 0:
        raise ValidationError(
            f"1 validation error detected: Value '{days}' at 'retentionDays' failed to satisfy "
            "constraint: Member must have value greater than or equal to 0"
        )
    return days


async def keep_swept(archives: Archives, timer: Timer, interval_s: float) -> None:
    """Sweep now and then every `interval_s` on the timer, until cancelled."""
    never = asyncio.Event()  # nothing wakes a sweep early: retention is counted in days
    while True:
        try:
            await archives.sweep()
        except NimbusError as error:  # events.db refused: try again at the next sweep
            logger.warning("archive retention sweep failed: %s", error.message)
        await timer.wait(timer.now() + interval_s, never)
