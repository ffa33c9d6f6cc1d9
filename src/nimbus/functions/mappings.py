"""Event source mappings: which queue triggers which function, with what batching.

A mapping is a Lambda resource (`arn:aws:lambda:…:event-source-mapping:<uuid>`), durable in
the record store before the API answers. The fleet that polls its queue lives in
`nimbus.scaling`; this module only validates, stores and describes mappings, and tells its
listener (the fleet manager) whenever one changes.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.arn import resolve_function_ref
from nimbus.clock import Clock
from nimbus.errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from nimbus.events.pattern import EventPattern, PatternError, compile_pattern
from nimbus.functions.registry import FunctionRegistry
from nimbus.store.base import RecordStore

TABLE = "event_source_mappings"
DEFAULT_BATCH_SIZE = 10
MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_WINDOW_S = 300
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
MAX_FILTERS = 5


@dataclass(frozen=True)
class EventSourceMapping:
    uuid: str
    arn: str
    event_source_arn: str
    function_name: str
    function_arn: str
    enabled: bool
    batch_size: int
    batching_window_s: int
    filters: tuple[str, ...]
    report_item_failures: bool
    maximum_concurrency: int | None
    last_modified: float
    state: str  # Enabled, Disabled, Deleting

    @property
    def fifo(self) -> bool:
        return self.event_source_arn.endswith(".fifo")

    def patterns(self) -> list[EventPattern]:
        return [compile_pattern(text) for text in self.filters]

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["filters"] = list(self.filters)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> EventSourceMapping:
        return cls(**{**record, "filters": tuple(record["filters"])})


@dataclass(frozen=True)
class MappingChanges:
    """What CreateEventSourceMapping / UpdateEventSourceMapping may set (None: unchanged)."""

    function: str | None = None
    enabled: bool | None = None
    batch_size: int | None = None
    batching_window_s: int | None = None
    filters: Sequence[str] | None = None
    response_types: Sequence[str] | None = None
    maximum_concurrency: int | None = None
    clear_maximum_concurrency: bool = False


Listener = Callable[[EventSourceMapping, bool], None]  # (mapping, deleted)


class MappingRegistry:
    def __init__(
        self,
        store: RecordStore,
        functions: FunctionRegistry,
        queue_exists: Callable[[str], bool],
        region: str,
        account: str,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._store = store
        self._functions = functions
        self._queue_exists = queue_exists
        self._region = region
        self._account = account
        self._mappings = {
            key: EventSourceMapping.from_record(record) for key, record in store.scan(TABLE)
        }
        self.listeners: list[Listener] = []

    def create(self, event_source_arn: str, changes: MappingChanges) -> EventSourceMapping:
        if not event_source_arn.startswith("arn:aws:sqs:"):
            raise InvalidParameterValue(
                "nimbus supports Amazon SQS queues as event sources; "
                f"{event_source_arn} is not an SQS queue ARN."
            )
        if not self._queue_exists(event_source_arn):
            raise InvalidParameterValue(
                "Error occurred while ReceiveMessage. SQS Error Code: "
                "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: "
                "The specified queue does not exist."
            )
        if changes.function is None:
            raise InvalidParameterValue("FunctionName is required.")
        name, function_arn = self._function(changes.function)
        mapping_id = str(uuid.uuid4())
        mapping = EventSourceMapping(
            uuid=mapping_id,
            arn=f"arn:aws:lambda:{self._region}:{self._account}:event-source-mapping:{mapping_id}",
            event_source_arn=event_source_arn,
            function_name=name,
            function_arn=function_arn,
            enabled=True,
            batch_size=DEFAULT_BATCH_SIZE,
            batching_window_s=0,
            filters=(),
            report_item_failures=False,
            maximum_concurrency=None,
            last_modified=self._clock(),
            state="Enabled",
        )
        mapping = self._apply(mapping, changes)
        for existing in self._mappings.values():
            same = (existing.event_source_arn, existing.function_name)
            if same == (event_source_arn, mapping.function_name):
                raise ResourceConflict(
                    f'An event source mapping with SQS arn (" {event_source_arn} ") and '
                    f'function (" {name} ") already exists. Please update or delete the '
                    f"existing mapping with UUID {existing.uuid}"
                )
        return self._save(mapping)

    def get(self, mapping_id: str) -> EventSourceMapping:
        mapping = self._mappings.get(mapping_id)
        if mapping is None:
            raise ResourceNotFound(
                "The resource you requested does not exist. "
                f"(Service: Lambda, Status Code: 404, Request ID: {mapping_id})"
            )
        return mapping

    def list(
        self, function: str | None = None, event_source_arn: str | None = None
    ) -> Iterator[EventSourceMapping]:
        name = self._function(function)[0] if function else None
        for mapping in sorted(self._mappings.values(), key=lambda m: m.uuid):
            if name is not None and mapping.function_name != name:
                continue
            if event_source_arn is not None and mapping.event_source_arn != event_source_arn:
                continue
            yield mapping

    def update(self, mapping_id: str, changes: MappingChanges) -> EventSourceMapping:
        return self._save(self._apply(self.get(mapping_id), changes))

    def delete(self, mapping_id: str) -> EventSourceMapping:
        mapping = dataclasses.replace(self.get(mapping_id), state="Deleting")
        self._store.delete(TABLE, mapping_id)
        del self._mappings[mapping_id]
        for listener in self.listeners:
            listener(mapping, True)
        return mapping

    def _function(self, function: str) -> tuple[str, str]:
        """The function's name and ARN, from a name, partial ARN or ARN (must exist)."""
        ref = resolve_function_ref(function, self._region, self._account)
        config = self._functions.get(ref.name, ref.qualifier)
        return config.name, config.qualified_arn if ref.qualifier else config.arn

    def _apply(self, mapping: EventSourceMapping, changes: MappingChanges) -> EventSourceMapping:
        values: dict[str, Any] = {"last_modified": self._clock()}
        if changes.function is not None:
            values["function_name"], values["function_arn"] = self._function(changes.function)
        if changes.enabled is not None:
            values["enabled"] = changes.enabled
            values["state"] = "Enabled" if changes.enabled else "Disabled"
        if changes.batch_size is not None:
            values["batch_size"] = changes.batch_size
        if changes.batching_window_s is not None:
            values["batching_window_s"] = changes.batching_window_s
        if changes.filters is not None:
            values["filters"] = tuple(changes.filters)
        if changes.response_types is not None:
            values["report_item_failures"] = REPORT_BATCH_ITEM_FAILURES in changes.response_types
        if changes.maximum_concurrency is not None or changes.clear_maximum_concurrency:
            values["maximum_concurrency"] = changes.maximum_concurrency
        updated = dataclasses.replace(mapping, **values)
        _validate(updated)
        return updated

    def _save(self, mapping: EventSourceMapping) -> EventSourceMapping:
        self._store.put(TABLE, mapping.uuid, mapping.to_record())
        self._mappings[mapping.uuid] = mapping
        for listener in self.listeners:
            listener(mapping, False)
        return mapping


def _validate(mapping: EventSourceMapping) -> None:
    limit = MAX_FIFO_BATCH_SIZE if mapping.fifo else MAX_BATCH_SIZE
    if not 1 <= mapping.batch_size <= limit:
        raise InvalidParameterValue(
            f"BatchSize must be between 1 and {limit} for this event source."
        )
    if not 0 <= mapping.batching_window_s <= MAX_WINDOW_S:
        raise InvalidParameterValue(
            f"MaximumBatchingWindowInSeconds must be between 0 and {MAX_WINDOW_S}."
        )
    if mapping.fifo and mapping.batching_window_s:
        raise InvalidParameterValue("Batching window is not supported for FIFO queues.")
    if mapping.batch_size > 10 and mapping.batching_window_s < 1:
        raise InvalidParameterValue(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )
    concurrency = mapping.maximum_concurrency
    if concurrency is not None and not 2 <= concurrency <= 1000:
        raise InvalidParameterValue("ScalingConfig.MaximumConcurrency must be between 2 and 1000.")
    if len(mapping.filters) > MAX_FILTERS:
        raise InvalidParameterValue(f"The number of filters must be at most {MAX_FILTERS}.")
    for text in mapping.filters:
        try:
            compile_pattern(text)
        except PatternError as error:
            raise InvalidParameterValue(
                f"Invalid filter pattern definition. Reason: {error.reason}"
            ) from None
