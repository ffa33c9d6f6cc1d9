"""A scheduled rule through boto3 against real servers: a `rate(1 minute)` rule delivers
"Scheduled Event"s to its queue, once per time across restarts.

No test waits a real minute: the server's clock is moved with NIMBUS_CLOCK_OFFSET_SECONDS
between restarts over the same data directory, so the rule's next time is seconds away
(or already missed, which fires once at start). Expectations come from the servers'
clocks, never today's date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import NimbusServer, running_server

ACCOUNT = "000000000000"
RULE_ARN = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/every-minute"


def receive(sqs: Any, url: str, want: int, wait_s: int = 20) -> list[dict[str, Any]]:
    """Long-poll until `want` messages arrived or `wait_s` passed; each is deleted."""
    events: list[dict[str, Any]] = []
    for _ in range(max(1, wait_s // 2)):
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in reply.get("Messages", []):
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(events) >= want:
            break
    return events


def epoch(text: str) -> float:
    assert text.endswith("Z"), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def shifted(server: NimbusServer, seconds: float) -> dict[str, str]:
    """The environment of a server whose clock runs `seconds` ahead of `server`'s."""
    return {"NIMBUS_CLOCK_OFFSET_SECONDS": repr(server.clock_offset + seconds)}


def test_a_rate_rule_sends_scheduled_events_to_its_queue_once_per_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as first:
        sqs, events = first.client("sqs"), first.client("events")
        url = sqs.create_queue(QueueName="ticks")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        created_after = first.now()
        reply = events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)")
        created_before = first.now()
        assert reply["RuleArn"] == RULE_ARN
        events.put_targets(
            Rule="every-minute", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
        )
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None

    # 57 s later by the server's clock: the first time is seconds away (or just missed)
    with running_server(data, shifted(first, 57)) as second:
        (tick,) = receive(second.client("sqs"), url, want=1)
    assert set(tick) == {
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    }  # fmt: skip
    assert (tick["version"], tick["detail-type"], tick["source"]) == (
        "0", "Scheduled Event", "aws.events")  # fmt: skip
    assert (tick["account"], tick["region"]) == (ACCOUNT, "us-east-1")
    assert tick["resources"] == [RULE_ARN] and tick["detail"] == {}
    first_time = epoch(tick["time"])  # the scheduled time: the rule's creation + 60 s
    assert int(created_after) + 60 <= first_time <= created_before + 60

    # a minute and more later: the second time was missed and fires once at the restart;
    # the first, already marked, is not sent again
    with running_server(data, shifted(first, 125)) as third:
        sqs = third.client("sqs")
        (tock,) = receive(sqs, url, want=1)
        assert epoch(tock["time"]) == first_time + 60 and tock["id"] != tick["id"]
        assert receive(sqs, url, want=1, wait_s=2) == []
