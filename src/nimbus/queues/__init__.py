"""SQS-compatible queues: the engine and service (no HTTP; see gateway/sqs_api.py).

service.py   QueuesService: the public API the gateway and pollers use
registry.py  queue CRUD, attributes, tags, listing
engine.py    send / receive / delete / change visibility on in-memory queues
queue.py     one queue's runtime state, wake-ups and timer
index.py     message states and delivery order (standard, FIFO groups)
store.py     the SQLite file (group commit via nimbus.store.groupcommit)
attributes.py, receipts.py, validation.py, md5.py, model.py, errors.py
"""

from __future__ import annotations

from nimbus.queues.model import (
    BatchFailure,
    BatchResult,
    HandleEntry,
    MessageAttribute,
    QueueStats,
    ReceivedMessage,
    SendEntry,
    SentMessage,
)
from nimbus.queues.service import QueuesService

__all__ = [
    "BatchFailure",
    "BatchResult",
    "HandleEntry",
    "MessageAttribute",
    "QueueStats",
    "QueuesService",
    "ReceivedMessage",
    "SendEntry",
    "SentMessage",
]
