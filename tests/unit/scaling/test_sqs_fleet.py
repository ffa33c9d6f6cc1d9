"""How a fleet's consumers gather batches: window, BatchSize, payload limit, FIFO carry.

A real QueuesService (in a temporary file) and a real QueueFleet; the function is a fake
`invoke` that hands each event to the test through an asyncio queue, so every wait here
is on an event, not a sleep.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nimbus.functions.invoke import InvokeRequest, InvokeResult
from nimbus.functions.mappings import EventSourceMapping
from nimbus.queues import QueuesService, SendEntry
from nimbus.queues.model import ReceivedMessage
from nimbus.scaling.scaler import ScalingPolicy
from nimbus.scaling.sqs_fleet import Batch, Item, QueueFleet

ACCOUNT = "123456789012"
EVENT_TIMEOUT_S = 30.0  # only a broken fleet takes this long


def item(body: str) -> Item:
    record = {"messageId": body, "body": body}
    message = ReceivedMessage(body, "handle", body, {}, {})
    return Item(message, record, json.dumps(record).encode())


def test_payload_is_what_json_dumps_gives() -> None:
    items = [item("a"), item('b "quoted" ü')]
    expected = json.dumps({"Records": [i.record for i in items]}).encode()
    assert Batch.payload(items) == expected


def test_batch_takes_items_while_they_fit() -> None:
    small = [item(str(n)) for n in range(5)]
    assert Batch(3, 10_000).add(small) == small[3:]  # BatchSize
    one = len(small[0].encoded)
    fits_two = len(b'{"Records": []}') + 2 * one + len(b", ")
    batch = Batch(10, fits_two)
    assert batch.add(small) == small[2:] and batch.wanted == 8
    assert batch.full and len(Batch.payload(batch.items)) == fits_two
    lone = Batch(10, 10)
    assert lone.add(small[:1]) == [] and lone.items == small[:1]  # one always goes


Invoked = asyncio.Queue[list[dict[str, Any]]]
Body = Callable[[QueuesService, str, Invoked], Awaitable[None]]


def run_fleet(
    tmp_path: Path,
    body: Body,
    *,
    queue: str = "q",
    attributes: dict[str, str] | None = None,
    window: int = 0,
    payload_limit: int = 6 * 1024 * 1024,
    fail_first: int = 0,
) -> None:
    async def main() -> None:
        service = QueuesService(tmp_path / "q.db", "us-east-1", ACCOUNT, "http://nimbus")
        await service.start()
        url = await service.create_queue(queue, attributes or {}, {})
        invoked: Invoked = asyncio.Queue()
        calls = 0

        async def invoke(request: InvokeRequest) -> InvokeResult:
            nonlocal calls
            calls += 1
            invoked.put_nowait(json.loads(request.payload)["Records"])
            error = "Unhandled" if calls <= fail_first else None
            return InvokeResult(200, "id", "$LATEST", b"null", error)

        mapping = EventSourceMapping(
            uuid="m", arn="arn:aws:lambda:us-east-1:1:event-source-mapping:m",
            event_source_arn=service.queue_arn(url), function_name="f",
            function_arn="arn:aws:lambda:us-east-1:1:function:f", enabled=True,
            batch_size=10, batching_window_s=window, filters=(), report_item_failures=False,
            maximum_concurrency=None, last_modified=0.0, state="Enabled",
        )  # fmt: skip
        fleet = QueueFleet(mapping, service, invoke, ScalingPolicy(maximum=5), "us-east-1",
                           payload_limit)  # fmt: skip
        fleet.start()
        try:
            await body(service, url, invoked)
        finally:
            await fleet.stop()
            await service.stop()

    asyncio.run(main())


async def next_batch(invoked: Invoked) -> list[str]:
    records = await asyncio.wait_for(invoked.get(), EVENT_TIMEOUT_S)
    return [record["body"].split(":")[0] for record in records]


def test_a_window_gathers_a_trickle_into_one_batch_across_consumers(tmp_path: Path) -> None:
    async def body(service: QueuesService, url: str, invoked: Invoked) -> None:
        for n in range(5):
            await service.send_message(url, f"m{n}")
            await asyncio.sleep(0.05)  # a trickle: the scenario, not a synchronisation
        assert await next_batch(invoked) == [f"m{n}" for n in range(5)]
        assert invoked.empty()

    run_fleet(tmp_path, body, window=2)


def test_without_a_window_each_receive_is_a_batch(tmp_path: Path) -> None:
    async def body(service: QueuesService, url: str, invoked: Invoked) -> None:
        await service.send_message(url, "first")
        assert await next_batch(invoked) == ["first"]
        await service.send_message(url, "second")
        assert await next_batch(invoked) == ["second"]

    run_fleet(tmp_path, body)


def test_what_does_not_fit_is_carried_in_fifo_order_and_released_on_failure(
    tmp_path: Path,
) -> None:
    padding = "x" * 10_000  # records of ~11 KB: two fit in 25,000 bytes, three do not

    async def body(service: QueuesService, url: str, invoked: Invoked) -> None:
        entries = [SendEntry(str(n), f"m{n}:{padding}", group_id="g", dedup_id=str(n))
                   for n in range(5)]  # fmt: skip
        await service.send_message_batch(url, entries)  # all visible to the first receive
        batches = [await next_batch(invoked) for _ in range(4)]
        # the failed first batch comes back first; what was carried past it waits behind it
        assert batches == [["m0", "m1"], ["m0", "m1"], ["m2", "m3"], ["m4"]]
        assert invoked.empty()

    fifo = {"FifoQueue": "true", "VisibilityTimeout": "1"}
    run_fleet(tmp_path, body, queue="f.fifo", attributes=fifo, payload_limit=25_000,
              fail_first=1)  # fmt: skip


def test_a_standard_queue_carries_what_did_not_fit_into_the_next_batch(tmp_path: Path) -> None:
    padding = "x" * 10_000

    async def body(service: QueuesService, url: str, invoked: Invoked) -> None:
        entries = [SendEntry(str(n), f"m{n}:{padding}") for n in range(5)]
        await service.send_message_batch(url, entries)  # all visible to the first receive
        batches = [await next_batch(invoked) for _ in range(3)]
        assert sorted(len(b) for b in batches) == [1, 2, 2]
        assert sorted(body for batch in batches for body in batch) == [f"m{n}" for n in range(5)]

    run_fleet(tmp_path, body, payload_limit=25_000)
