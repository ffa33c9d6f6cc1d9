"""The events harness with archive and replay settings of a test's choosing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from events_harness import ACCOUNT, REGION, Harness

from nimbus.events.replay import ReplaySettings
from nimbus.events.service import EventsLimits, EventsService
from nimbus.events.timer import ManualTimer

BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/"
ARCHIVE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:archive/"
MATCH_APP = json.dumps({"source": ["my.app"]})


@dataclass
class ArchiveHarness(Harness):
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    sweep_interval_s: float = 3600.0

    def service(self, timer: ManualTimer) -> EventsService:
        limits = EventsLimits(self.max_request_size, 8, self.replay, self.sweep_interval_s)
        return EventsService(
            self.path, self.targets, timer, region=REGION, account=ACCOUNT, retry=self.retry,
            limits=limits,
        )  # fmt: skip
