"""SQS's message checks answer with AWS's codes and texts, and size attributes as AWS does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import NimbusError
from nimbus.queues.validation import (
    validate_batch_entry_ids,
    validate_body,
    validate_fifo_id,
    validate_message_attributes,
    validate_system_attributes,
)


@dataclass(frozen=True)
class Attr:
    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


def fails(call: object, *args: object) -> NimbusError:
    with pytest.raises(NimbusError) as info:
        call(*args)  # type: ignore[operator]
    return info.value


def test_body_must_be_present() -> None:
    error = fails(validate_body, "")
    assert error.code == "MissingParameter" or error.query_code == "MissingParameter"
    assert error.message == "The request must contain the parameter MessageBody."


@pytest.mark.parametrize("bad", ["\x00", "a\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_body_characters_outside_xml_are_invalid_contents(bad: str) -> None:
    error = fails(validate_body, bad)
    assert error.code == "InvalidMessageContents"
    assert error.message.startswith("Invalid characters found.")


def test_body_with_allowed_characters_passes() -> None:
    validate_body("héllo 日本 🦀\t\n\r\ue000\U0010ffff")


def test_attribute_size_counts_name_type_and_value_bytes() -> None:
    attrs = {"é": Attr("String", "ab"), "b": Attr("Binary.png", binary_value=b"\x00\x01\x02")}
    assert validate_message_attributes(attrs) == (2 + 6 + 2) + (1 + 10 + 3)
    assert validate_message_attributes({}) == 0


def test_at_most_ten_attributes() -> None:
    ten = {f"a{i}": Attr("Number", "1") for i in range(10)}
    assert validate_message_attributes(ten) > 0
    error = fails(validate_message_attributes, {**ten, "a10": Attr("String", "x")})
    assert error.message == "Number of message attributes [11] exceeds the allowed maximum [10]."


@pytest.mark.parametrize(
    "name", [".lead", "trail.", "two..dots", "sp ace", "bang!", "n" * 257, "AWS.x", "amazon.y"]
)
def test_bad_attribute_names(name: str) -> None:
    error = fails(validate_message_attributes, {name: Attr("String", "v")})
    assert error.status == 400 and f"'{name}'" in error.message


@pytest.mark.parametrize("name", ["AWSome", "a.b-c_D9", "n" * 256])
def test_good_attribute_names(name: str) -> None:
    validate_message_attributes({name: Attr("String", "v")})


def test_empty_value_text_is_aws_recorded_one() -> None:
    error = fails(validate_message_attributes, {"ErrorDetails": Attr("String", "")})
    assert error.message == (
        "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
    )
    error = fails(validate_message_attributes, {"b": Attr("Binary.x", "text-not-binary")})
    assert "of type 'Binary'" in error.message


@pytest.mark.parametrize("data_type", ["Strin", "string", "", "Blob", "Number" + "x" * 251])
def test_bad_data_types(data_type: str) -> None:
    error = fails(validate_message_attributes, {"a": Attr(data_type, "1")})
    assert "supported type prefixes: Binary, Number, String" in error.message


@pytest.mark.parametrize("number", ["0", "-1", "+7", "3.14", ".5", "5.", "6.02e23", "1e126"])
def test_numbers_aws_holds(number: str) -> None:
    validate_message_attributes({"n": Attr("Number", number)})


@pytest.mark.parametrize(
    "number", ["ten", "1,000", "1_000", " 1", "NaN", "Infinity", "1e127", "1" * 39]
)
def test_numbers_aws_rejects(number: str) -> None:
    error = fails(validate_message_attributes, {"n": Attr("Number.int", number)})
    assert error.message == "Could not cast message attribute 'n' value to number."


def test_system_attributes_only_trace_header() -> None:
    validate_system_attributes({"AWSTraceHeader": Attr("String", "Root=1-5759e988")})
    assert "is invalid" in fails(validate_system_attributes, {"Other": Attr("String", "x")}).message
    error = fails(validate_system_attributes, {"AWSTraceHeader": Attr("Binary", binary_value=b"x")})
    assert error.status == 400


@pytest.mark.parametrize("value", ["", "has space", "x" * 129, "ünï"])
def test_fifo_ids(value: str) -> None:
    error = fails(validate_fifo_id, "MessageGroupId", value)
    assert error.message == (
        f"Value {value} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only "
        "include alphanumeric and punctuation characters. 1 to 128 in length."
    )
    validate_fifo_id("MessageDeduplicationId", "a-Z_0!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")


def test_batch_entry_ids() -> None:
    validate_batch_entry_ids(["a", "B-1", "c_" * 40], "SendMessageBatchRequestEntry")
    empty = fails(validate_batch_entry_ids, [], "DeleteMessageBatchRequestEntry")
    assert empty.code == "EmptyBatchRequest"
    assert "DeleteMessageBatchRequestEntry" in empty.message
    many = fails(validate_batch_entry_ids, [str(i) for i in range(20)], "X")
    assert many.message == "Maximum number of entries per request are 10. You have sent 20."
    bad = fails(validate_batch_entry_ids, ["ok", "no good"], "X")
    assert bad.code == "InvalidBatchEntryId"
    assert fails(validate_batch_entry_ids, ["a", "a"], "X").code == "BatchEntryIdsNotDistinct"
    assert fails(validate_batch_entry_ids, ["x" * 81], "X").code == "InvalidBatchEntryId"


@given(st.text(max_size=50))
def test_body_check_agrees_with_the_xml_character_set(body: str) -> None:
    allowed = all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD
        or ord(c) >= 0x10000
        for c in body
    )  # fmt: skip
    try:
        validate_body(body)
    except NimbusError as error:
        assert error.code in {"MissingParameter", "InvalidMessageContents"} or not body
        assert not (body and allowed)
    else:
        assert body and allowed


@given(st.dictionaries(st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
                       st.text(min_size=1, max_size=20).filter(lambda t: t.isprintable()),
                       max_size=10))  # fmt: skip
def test_valid_string_attributes_size(pairs: dict[str, str]) -> None:
    attrs = {name: Attr("String", value) for name, value in pairs.items()}
    expected = sum(len(n.encode()) + 6 + len(v.encode()) for n, v in pairs.items())
    assert validate_message_attributes(attrs) == expected
