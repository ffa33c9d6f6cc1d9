"""Which entries a change matches, and which filters overlap: pure functions, by property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nimbus.objects import Destination, DestinationKind, EventName, FilterRule
from nimbus.objects.notifications.config import KeyFilter
from nimbus.objects.notifications.matching import covers, filters_overlap, matches, matching
from nimbus.objects.notifications.validation import EVENT_TYPES

text = st.text(alphabet="ab/.é ", max_size=6)
event_types = st.sampled_from(sorted(EVENT_TYPES))


def reference_matches(prefix: str, suffix: str, key: str) -> bool:
    return (
        key[: len(prefix)] == prefix
        and len(suffix) <= len(key)
        and (key[len(key) - len(suffix) :] == suffix)
    )


@given(text, text, text)
def test_a_key_filter_matches_exactly_the_keys_with_its_prefix_and_suffix(
    prefix: str, suffix: str, key: str
) -> None:
    assert KeyFilter(prefix, suffix).matches(key) == reference_matches(prefix, suffix, key)


@given(text, text, text, text)
def test_overlapping_filters_share_a_key_and_disjoint_ones_never_do(
    p1: str, s1: str, p2: str, s2: str
) -> None:
    first, second = KeyFilter(p1, s1), KeyFilter(p2, s2)
    witness = max(p1, p2, key=len) + max(s1, s2, key=len)
    shared = first.matches(witness) and second.matches(witness)
    assert filters_overlap(first, second) == shared


@given(text, text, text, text, text)
def test_no_key_matches_two_disjoint_filters(p1: str, s1: str, p2: str, s2: str, key: str) -> None:
    first, second = KeyFilter(p1, s1), KeyFilter(p2, s2)
    if first.matches(key) and second.matches(key):
        assert filters_overlap(first, second)


@given(event_types, event_types)
def test_a_wildcard_covers_its_family_and_a_name_only_itself(pattern: str, event: str) -> None:
    family = pattern.rsplit(":", 1)[0] + ":"
    expected = pattern == event or (pattern.endswith(":*") and event.startswith(family))
    assert covers(pattern, event) == expected


@given(st.sampled_from(list(EventName)), event_types, text, text, text)
def test_a_change_matches_when_an_event_covers_it_and_the_filter_holds(
    event: EventName, pattern: str, prefix: str, suffix: str, key: str
) -> None:
    destination = Destination(
        DestinationKind.QUEUE,
        "arn:aws:sqs:r:1:q",
        (pattern,),
        (FilterRule("Prefix", prefix), FilterRule("Suffix", suffix)),
    )
    name = "s3:" + event.value
    expected = covers(pattern, name) and reference_matches(prefix, suffix, key)
    assert matches(destination, name, key) == expected
    assert matching([destination], name, key) == ([destination] if expected else [])


def test_event_names_match_their_wildcards() -> None:
    created = Destination(DestinationKind.QUEUE, "arn", ("s3:ObjectCreated:*",))
    removed = Destination(DestinationKind.QUEUE, "arn", ("s3:ObjectRemoved:Delete",))
    for event in (EventName.PUT, EventName.COPY, EventName.COMPLETE_MULTIPART_UPLOAD):
        assert matching([created, removed], "s3:" + event.value, "k") == [created]
    assert matching([created, removed], "s3:ObjectRemoved:Delete", "k") == [removed]
    assert not covers("s3:ObjectCreated:*", "s3:ObjectCreatedX:Put")


def test_the_event_types_are_the_s3_models() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    assert set(model.shape_for("Event").enum) == EVENT_TYPES
