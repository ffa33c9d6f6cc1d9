"""Where notifications and events go: the platform's functions, queues and event bus.

`PlatformTargets` implements both the object store's `NotificationTargets` and the event
router's `DeliveryTargets` over the functions service (an asynchronous `Event` invoke,
accepted durably before it returns), the queues service (a committed SendMessage) and,
when given one, the event bus (`put_event`, for S3's EventBridge notifications). A
function or queue that does not exist raises `TargetMissing`, which the router sends
straight to the dead-letter queue rather than retrying.
"""

from __future__ import annotations

from typing import Any, Protocol

from nimbus.errors import NimbusError, ResourceNotFound, ServiceError
from nimbus.events.targets import TargetMissing
from nimbus.functions.invoke import InvokeRequest
from nimbus.functions.model import InvocationType
from nimbus.functions.service import FunctionsService
from nimbus.queues.errors import QueueDoesNotExist
from nimbus.queues.model import MessageAttribute
from nimbus.queues.service import QueuesService

NO_EVENT_BUS = "nimbus has no event bus here: EventBridge notifications are not delivered"


class EventBus(Protocol):
    async def put_event(self, event: dict[str, Any]) -> None: ...


class PlatformTargets:
    def __init__(
        self, functions: FunctionsService, queues: QueuesService, bus: EventBus | None = None
    ) -> None:
        self._functions = functions
        self._queues = queues
        self._bus = bus

    async def function_exists(self, arn: str) -> bool:
        try:
            self._functions.get(arn)
        except NimbusError:
            return False
        return True

    async def queue_exists(self, arn: str) -> bool:
        try:
            self._queues.url_for_arn(arn)
        except NimbusError:
            return False
        return True

    async def invoke_function(self, arn: str, payload: bytes) -> None:
        request = InvokeRequest(arn, payload, invocation_type=InvocationType.EVENT)
        try:
            await self._functions.invoke(request)
        except ResourceNotFound as error:
            raise TargetMissing(error.message) from None

    async def send_to_queue(
        self,
        arn: str,
        body: str,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> None:
        values = {
            name: MessageAttribute(data_type="String", string_value=value)
            for name, value in (attributes or {}).items()
        }
        try:
            url = self._queues.url_for_arn(arn)
            await self._queues.send_message(
                url, body, attributes=values, group_id=group_id, dedup_id=dedup_id
            )
        except QueueDoesNotExist:
            raise TargetMissing(f"The queue {arn} does not exist.") from None

    async def put_event(self, event: dict[str, Any]) -> None:
        if self._bus is None:
            raise ServiceError(NO_EVENT_BUS)
        await self._bus.put_event(event)
