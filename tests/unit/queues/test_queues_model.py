"""Random operation sequences against a simple model: nothing acked is lost, and no
message is in two live deliveries at once (standard and FIFO)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nimbus.queues import QueuesService
from nimbus.queues.errors import QueueError

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 2)),
        st.tuples(st.just("receive"), st.integers(1, 10)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        st.tuples(st.just("hide0"), st.integers(0, 50)),
        st.tuples(st.just("tick"), st.integers(1, 40)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=40,
)


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def play(path: Path, fifo: bool, ops: list[tuple[str, int]]) -> None:
    clock = Clock()
    service = QueuesService(path, "us-east-1", "123456789012", "http://x", clock=clock)
    await service.start()
    name, attrs = ("m.fifo", {"FifoQueue": "true"}) if fifo else ("m", {})
    url = await service.create_queue(name, {**attrs, "VisibilityTimeout": "20"}, {})
    live: set[str] = set()
    handles: list[tuple[str, str]] = []  # (message id, handle) of every delivery
    leased: dict[str, float] = {}  # message id -> lease end of its current delivery
    for op, arg in ops:
        if op == "send":
            dedup = f"{clock.now}-{len(handles)}-{len(live)}" if fifo else None
            body = f"b{len(live)}-{clock.now}"
            sent = await service.send_message(url, body, group_id=f"g{arg}", dedup_id=dedup)
            live.add(sent.message_id)
        elif op == "receive":
            for message in await service.receive_message(url, arg):
                assert message.message_id in live
                assert leased.get(message.message_id, 0) <= clock.now, "delivered twice"
                leased[message.message_id] = clock.now + 20
                handles.append((message.message_id, message.receipt_handle))
        elif op in ("delete", "hide0") and handles:
            message_id, handle = handles[arg % len(handles)]
            try:
                if op == "delete":
                    await service.delete_message(url, handle)
                else:
                    await service.change_message_visibility(url, handle, 0)
            except QueueError:  # stale handles may be refused (FIFO, not in flight)
                continue
            if _is_latest(handles, arg):  # a stale handle that succeeds changes nothing
                if op == "delete":
                    live.discard(message_id)
                leased[message_id] = clock.now
        elif op == "tick":
            clock.now += arg
        elif op == "restart":
            await service.stop()
            service = QueuesService(path, "us-east-1", "123456789012", "http://x", clock=clock)
            await service.start()
    stats = service.stats(url)
    assert stats.visible + stats.in_flight + stats.delayed == len(live)
    await service.stop()


def _is_latest(handles: list[tuple[str, str]], index: int) -> bool:
    """Whether the chosen delivery is the most recent one of its message."""
    chosen = handles[index % len(handles)]
    latest = [h for h in handles if h[0] == chosen[0]][-1]
    return latest == chosen


@settings(max_examples=40, deadline=None)
@given(fifo=st.booleans(), ops=OPS)
def test_random_operations_keep_the_model(fifo: bool, ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(play(Path(directory) / "queues.db", fifo, ops))
