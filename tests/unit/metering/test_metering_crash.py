"""kill -9 a process that is recording usage: nothing it acknowledged may be lost or doubled."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nimbus.metering.ledger import UsageLedger

# Eight concurrent callers; each prints a request id only after `record` returned for it,
# then records it again (a duplicate the ledger must ignore).
CHILD = """
import asyncio, sys, time
from pathlib import Path
from nimbus.metering.ledger import UsageLedger
from nimbus.metering.usage import UsageRecord

async def caller(ledger, n):
    for i in range(10**9):
        rid = f"req-{n}-{i}"
        now = int(time.time() * 1000)
        usage = UsageRecord(rid, "fn", "$LATEST", "x86_64", 128, 1.5, 0.0, 2, now)
        await ledger.record(usage)
        sys.stdout.write(rid + "\\n")
        sys.stdout.flush()
        await ledger.record(usage)

async def main():
    ledger = UsageLedger(Path(sys.argv[1]), sync_interval_s=float(sys.argv[2]))
    await asyncio.gather(*(caller(ledger, n) for n in range(8)))

asyncio.run(main())
"""
ACKED_BEFORE_KILL = 400


# 0: strict, committed with an fsync before `record` returns; 3600: only journaled
# before it returns (the flusher never runs before the kill), so the replay must save it.
@pytest.mark.parametrize("sync_interval_s", [0, 3600])
def test_every_acknowledged_record_survives_sigkill_exactly_once(
    tmp_path: Path, sync_interval_s: int
) -> None:
    path = tmp_path / "usage.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(sync_interval_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked: list[str] = []
    try:
        while len(acked) < ACKED_BEFORE_KILL:
            line = child.stdout.readline()
            assert line, f"the child died early: {child.stderr.read() if child.stderr else ''}"
            acked.append(line.strip())
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate()
    assert child.returncode == -signal.SIGKILL
    # Lines written before the kill are acknowledged too; a torn last line is not.
    acked += [line for line in rest.split("\n")[:-1]]

    ledger = UsageLedger(path)
    try:
        stored = collections.Counter(record.request_id for record in ledger.records())
    finally:
        ledger.close()
    assert all(stored[request_id] == 1 for request_id in acked)
    assert max(stored.values()) == 1
    assert len(stored) >= len(acked) >= ACKED_BEFORE_KILL
