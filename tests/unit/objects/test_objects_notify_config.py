"""PutBucketNotificationConfiguration / Get: S3's validation texts, normalisation, storage."""

from __future__ import annotations

import pytest
from objects_harness import FUNCTION_ARN, QUEUE_ARN, Harness

from nimbus.objects import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
    ObjectsService,
    RequestInfo,
)
from nimbus.objects.errors import InvalidArgument, NoSuchBucket, UnableToValidateDestinations
from nimbus.objects.notifications.validation import AMBIGUOUS

QUEUE = DestinationKind.QUEUE
FUNCTION = DestinationKind.FUNCTION
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:t"
CREATED = ("s3:ObjectCreated:*",)


def queue(*rules: tuple[str, str], events: tuple[str, ...] = CREATED) -> Destination:
    return Destination(QUEUE, QUEUE_ARN, events, tuple(FilterRule(*r) for r in rules))


def config(*destinations: Destination, event_bridge: bool = False) -> NotificationConfiguration:
    return NotificationConfiguration(destinations, event_bridge)


def rejected(harness: Harness, configuration: NotificationConfiguration) -> InvalidArgument:
    async def body(s: ObjectsService) -> InvalidArgument:
        await s.create_bucket("bkt")
        with pytest.raises(InvalidArgument) as caught:
            await s.put_bucket_notification_configuration("bkt", configuration)
        assert await s.get_bucket_notification_configuration("bkt") == config()
        return caught.value

    result: InvalidArgument = harness.run(body)
    return result


@pytest.mark.parametrize(
    ("configuration", "message", "fields"),
    [
        (
            config(queue(events=("s3:ObjectCreated:Nope",))),
            "The event is not supported for notifications",
            {"ArgumentName": "Event", "ArgumentValue": "s3:ObjectCreated:Nope"},
        ),
        (
            config(queue(("Infix", "a"))),
            "filter rule name must be either prefix or suffix",
            {"ArgumentName": "FilterRule.Name", "ArgumentValue": "Infix"},
        ),
        (
            config(queue(("prefix", "a"), ("PREFIX", "b"))),
            "Cannot specify more than one prefix rule in a filter.",
            {"ArgumentName": "FilterRule.Name", "ArgumentValue": "prefix"},
        ),
        (
            config(queue(("suffix", "a"), ("Suffix", "b"))),
            "Cannot specify more than one suffix rule in a filter.",
            {"ArgumentName": "FilterRule.Name", "ArgumentValue": "suffix"},
        ),
        (
            config(Destination(QUEUE, "not-an-arn", CREATED)),
            "The ARN could not be parsed",
            {"ArgumentName": "Queue", "ArgumentValue": "not-an-arn"},
        ),
        (
            config(Destination(FUNCTION, QUEUE_ARN, CREATED)),
            "The ARN could not be parsed",
            {"ArgumentName": "CloudFunction", "ArgumentValue": QUEUE_ARN},
        ),
    ],
)
def test_invalid_configurations_get_s3s_errors(
    harness: Harness,
    configuration: NotificationConfiguration,
    message: str,
    fields: dict[str, str],
) -> None:
    error = rejected(harness, configuration)
    assert (error.code, error.status, error.message) == ("InvalidArgument", 400, message)
    assert error.extra_fields() == fields


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (queue(), queue()),
        (queue(("Prefix", "a")), queue(("prefix", "ab"))),
        (queue(("suffix", "jpg")), queue(("suffix", "pg"))),
        (queue(("prefix", "a/"), ("suffix", ".jpg")), queue(("suffix", ".jpg"))),
        (queue(), queue(events=("s3:ObjectCreated:Put",))),
    ],
)
def test_overlapping_rules_for_overlapping_events_are_ambiguous(
    harness: Harness, first: Destination, second: Destination
) -> None:
    error = rejected(harness, config(first, second))
    assert error.message == AMBIGUOUS


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (queue(("prefix", "a/")), queue(("prefix", "b/"))),
        (queue(("prefix", "a"), ("suffix", ".jpg")), queue(("prefix", "a"), ("suffix", ".png"))),
        (queue(), queue(events=("s3:ObjectRemoved:*",))),
        (
            queue(events=("s3:ObjectCreated:Put",)),
            queue(events=("s3:ObjectCreated:Copy",)),
        ),
    ],
)
def test_disjoint_rules_are_accepted(
    harness: Harness, first: Destination, second: Destination
) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", config(first, second))
        assert len((await s.get_bucket_notification_configuration("bkt")).queues) == 2

    harness.run(body)


def test_missing_destinations_are_listed_unless_validation_is_skipped(harness: Harness) -> None:
    missing_queue = "arn:aws:sqs:us-east-1:000000000000:missing"
    missing_function = "arn:aws:lambda:us-east-1:000000000000:function:missing"
    configuration = config(
        Destination(QUEUE, missing_queue, CREATED),
        Destination(FUNCTION, missing_function, ("s3:ObjectRemoved:*",)),
        Destination(FUNCTION, FUNCTION_ARN, ("s3:ObjectRestore:*",)),
    )

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        with pytest.raises(UnableToValidateDestinations) as caught:
            await s.put_bucket_notification_configuration("bkt", configuration)
        assert caught.value.code == "InvalidArgument"
        assert caught.value.message == (
            "Unable to validate the following destination configurations"
        )
        assert caught.value.extra_fields() == {
            "ArgumentName1": missing_queue,
            "ArgumentValue1": "The destination queue does not exist",
            "ArgumentName2": f"{missing_function}, null",
            "ArgumentValue2": f"Not authorized to invoke function [{missing_function}]",
        }
        await s.put_bucket_notification_configuration(
            "bkt", configuration, skip_destination_validation=True
        )
        assert len((await s.get_bucket_notification_configuration("bkt")).destinations) == 3

    harness.run(body)


def test_topics_are_stored_only_when_validation_is_skipped(harness: Harness) -> None:
    topic = config(Destination(DestinationKind.TOPIC, TOPIC_ARN, CREATED))

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        with pytest.raises(UnableToValidateDestinations):
            await s.put_bucket_notification_configuration("bkt", topic)
        await s.put_bucket_notification_configuration(
            "bkt", topic, skip_destination_validation=True
        )
        [stored] = (await s.get_bucket_notification_configuration("bkt")).topics
        assert stored.arn == TOPIC_ARN

    harness.run(body)


def test_a_configuration_reads_back_normalised_and_survives_a_restart(harness: Harness) -> None:
    given = config(
        queue(("suffix", ".jpg"), ("PREFIX", "img/")),
        Destination(
            FUNCTION,
            FUNCTION_ARN,
            ("s3:ObjectRemoved:Delete",),
            (FilterRule("pReFiX", ""),),
            "mine",
        ),
        event_bridge=True,
    )

    async def put(s: ObjectsService) -> NotificationConfiguration:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", given)
        return await s.get_bucket_notification_configuration("bkt")

    stored: NotificationConfiguration = harness.run(put)
    [q] = stored.queues
    [f] = stored.functions
    assert q.filter_rules == (FilterRule("Suffix", ".jpg"), FilterRule("Prefix", "img/"))
    assert q.id and len(q.id) >= 16
    assert (f.id, f.filter_rules, f.events) == (
        "mine",
        (FilterRule("Prefix", ""),),
        ("s3:ObjectRemoved:Delete",),
    )
    assert stored.event_bridge

    async def get(s: ObjectsService) -> NotificationConfiguration:
        return await s.get_bucket_notification_configuration("bkt")

    assert harness.run(get) == stored


def test_generated_ids_differ(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        both = config(queue(("prefix", "a")), queue(("prefix", "b")))
        await s.put_bucket_notification_configuration("bkt", both)
        ids = [d.id for d in (await s.get_bucket_notification_configuration("bkt")).queues]
        assert len(set(ids)) == 2

    harness.run(body)


def test_a_put_replaces_and_an_empty_put_clears(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        assert await s.get_bucket_notification_configuration("bkt") == config()
        await s.put_bucket_notification_configuration("bkt", config(queue()))
        await s.put_bucket_notification_configuration("bkt", config(event_bridge=True))
        assert await s.get_bucket_notification_configuration("bkt") == config(event_bridge=True)
        await s.put_bucket_notification_configuration("bkt", config())
        assert await s.get_bucket_notification_configuration("bkt") == config()

    harness.run(body)


def test_missing_bucket_and_a_deleted_bucket_drop_the_configuration(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        with pytest.raises(NoSuchBucket):
            await s.put_bucket_notification_configuration("nope", config())
        with pytest.raises(NoSuchBucket):
            await s.get_bucket_notification_configuration("nope")
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", config(event_bridge=True))
        await s.delete_bucket("bkt")
        await s.create_bucket("bkt")
        assert await s.get_bucket_notification_configuration("bkt") == config()

    harness.run(body)

    async def after_restart(s: ObjectsService) -> None:
        assert await s.get_bucket_notification_configuration("bkt") == config()

    harness.run(after_restart)


def test_saving_a_queue_configuration_sends_it_a_test_event(harness: Harness) -> None:
    request = RequestInfo("REQ123", "10.1.2.3")

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        both = config(queue(("prefix", "a")), queue(("prefix", "b")))
        await s.put_bucket_notification_configuration("bkt", both, request=request)

    harness.run(body)
    assert harness.recorded.test_events == [
        (
            QUEUE_ARN,
            {
                "Service": "Amazon S3",
                "Event": "s3:TestEvent",
                "Time": "2023-11-14T22:13:20.250Z",
                "Bucket": "bkt",
                "RequestId": "REQ123",
                "HostId": request.host_id,
            },
        )
    ]
    assert harness.recorded.delivered == []
