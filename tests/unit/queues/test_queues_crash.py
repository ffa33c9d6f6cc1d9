"""kill -9 while sending: every message whose send was acknowledged is there after reopen."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nimbus.queues import QueuesService

CHILD = """
import asyncio, sys
from pathlib import Path
from nimbus.queues import QueuesService, SendEntry

async def main():
    service = QueuesService(Path(sys.argv[1]), "us-east-1", "123456789012", "http://x")
    await service.start()
    url = await service.create_queue("crash", {}, {})
    async def sender(worker):
        for n in range(100000):
            entries = [SendEntry(f"e{i}", f"{worker}-{n}-{i}") for i in range(10)]
            result = await service.send_message_batch(url, entries)
            ids = " ".join(sent.message_id for _, sent in result.successful)
            sys.stdout.write(ids + "\\n")
            sys.stdout.flush()
    await asyncio.gather(*(sender(w) for w in range(4)))

asyncio.run(main())
"""


def test_acknowledged_sends_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "queues.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acked: list[str] = []
    deadline = time.monotonic() + 10
    while len(acked) < 2000 and time.monotonic() < deadline:
        acked += child.stdout.readline().split()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert len(acked) >= 2000

    async def reopen() -> set[str]:
        service = QueuesService(path, "us-east-1", "123456789012", "http://x")
        await service.start()
        url = service.get_queue_url("crash")
        found: set[str] = set()
        while batch := await service.receive_message(url, 10):
            found |= {message.message_id for message in batch}
        await service.stop()
        return found

    found = asyncio.run(reopen())
    assert set(acked) <= found
