"""S3 event notifications, durable with the object they describe.

config.py      NotificationConfiguration: destinations, events, key filters, EventBridge
validation.py  S3's checks of a configuration, with its error texts; generated ids
matching.py    which entries a change matches; which entries overlap (pure functions)
records.py     the S3 event record, the EventBridge event, the s3:TestEvent message
notifier.py    configurations per bucket; the outbox rows of a committed change
outbox.py      the dispatcher: deliver each row, delete it once accepted, retry with backoff
targets.py     NotificationTargets: the protocol the platform implements
"""

from __future__ import annotations

from nimbus.objects.notifications.config import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
)
from nimbus.objects.notifications.outbox import NotificationSettings
from nimbus.objects.notifications.targets import NotificationTargets

__all__ = [
    "Destination",
    "DestinationKind",
    "FilterRule",
    "NotificationConfiguration",
    "NotificationSettings",
    "NotificationTargets",
]
