"""Where S3 event notifications go: the platform's functions and queues.

`PlatformTargets` implements the object store's `NotificationTargets` over the
functions service (an asynchronous `Event` invoke, accepted durably before it returns)
and the queues service (a committed SendMessage). The event bus arrives with the event
router; until then an EventBridge delivery is refused, and the gateway refuses a
configuration that asks for one.
"""

from __future__ import annotations

from typing import Any

from nimbus.errors import NimbusError, ServiceError
from nimbus.functions.invoke import InvokeRequest
from nimbus.functions.model import InvocationType
from nimbus.functions.service import FunctionsService
from nimbus.queues.service import QueuesService

NO_EVENT_BUS = "nimbus has no event bus yet: EventBridge notifications are not delivered"


class PlatformTargets:
    def __init__(self, functions: FunctionsService, queues: QueuesService) -> None:
        self._functions = functions
        self._queues = queues

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
        await self._functions.invoke(request)

    async def send_to_queue(self, arn: str, body: str) -> None:
        await self._queues.send_message(self._queues.url_for_arn(arn), body)

    async def put_event(self, event: dict[str, Any]) -> None:
        raise ServiceError(NO_EVENT_BUS)
