"""PutEvents entries: their checks, their size, and the event envelope built from them.

AWS's rules (../shared/aws-semantics.md §1.1, §1.8): an entry missing Source, DetailType
or Detail, or whose Detail is not a JSON object, fails on its own (the call still
answers 200); the total size of the entries is a whole-request check. The envelope's
fields are written in the order EventBridge delivers them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nimbus.errors import ValidationError

TIME_SIZE = 14  # what a Time member counts for in the request size, whatever its text
INT64 = (-(2**63), 2**63 - 1)
TOO_LARGE = "Total size of the entries in the request is over the limit."


@dataclass(frozen=True, slots=True)
class EventEntry:
    """One PutEvents entry as the caller sent it (`time` in epoch seconds)."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None
    resources: Sequence[str] = ()
    time: float | None = None
    bus: str | None = None  # a name or an ARN; None: the default bus


@dataclass(frozen=True, slots=True)
class EntryFailure:
    """Why one entry was not accepted; the other entries are unaffected."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """An accepted event: its id and the JSON object every target and pattern sees."""

    id: str
    fields: dict[str, Any] = field(hash=False)

    @property
    def text(self) -> str:
        return json.dumps(self.fields, separators=(",", ":"), ensure_ascii=False)


def _required(member: str) -> EntryFailure:
    return EntryFailure(
        "InvalidArgument",
        f"Parameter {member} is not valid. Reason: {member} is a required argument.",
    )


MALFORMED_DETAIL = EntryFailure("MalformedDetail", "Detail is malformed.")


def entry_size(entry: EventEntry) -> int:
    """An entry's size as EventBridge counts it against the request limit."""
    size = TIME_SIZE if entry.time is not None else 0
    for text in (entry.source, entry.detail_type, entry.detail, *entry.resources):
        if text:
            size += len(text.encode("utf-8", errors="surrogatepass"))
    return size


def check_total_size(entries: Sequence[EventEntry], limit: int) -> None:
    if sum(entry_size(entry) for entry in entries) > limit:
        raise ValidationError(TOO_LARGE)


def parse_detail(text: str) -> dict[str, Any] | None:
    """The Detail as a JSON object, or None when it is not one EventBridge would accept."""
    try:
        detail = json.loads(text, parse_int=_int64, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return detail if isinstance(detail, dict) else None


def check_entry(entry: EventEntry) -> EntryFailure | dict[str, Any]:
    """The entry's decoded Detail, or the failure AWS reports for it."""
    if not entry.source:
        return _required("Source")
    if not entry.detail_type:
        return _required("DetailType")
    if entry.detail is None or not entry.detail.strip():
        return _required("Detail")
    detail = parse_detail(entry.detail)
    return MALFORMED_DETAIL if detail is None else detail


def build_envelope(
    entry: EventEntry, detail: dict[str, Any], *, account: str, region: str, now: float
) -> Envelope:
    event_id = str(uuid.uuid4())
    fields = {
        "version": "0",
        "id": event_id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": iso_time(entry.time if entry.time is not None else now),
        "region": region,
        "resources": list(entry.resources),
        "detail": detail,
    }
    return Envelope(event_id, fields)


def iso_time(epoch: float) -> str:
    """`2017-12-22T18:43:48Z`: whole seconds, UTC, as EventBridge writes event times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _int64(text: str) -> int:
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError("integer out of range")
    return value


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")
