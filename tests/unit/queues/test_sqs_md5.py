"""The MD5s SQS returns, checked against published vectors and an independent encoding."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from nimbus.queues.md5 import md5_of_attributes, md5_of_body, md5_of_system_attributes


@dataclass(frozen=True)
class Attr:
    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


def s(value: str, data_type: str = "String") -> Attr:
    return Attr(data_type, string_value=value)


# Vectors published with SQS client libraries' MD5 checks (computed against AWS).
STORE = {"SellerName": s("Example Store")}
FIVE = {
    "City": s("Any City"),
    "PostalCode": s("99065"),
    "PricePerGallon": s("1.99", "Number"),
    "Region": s("WA"),
    "SellerName": s("Example Store"),
}


def test_body_md5_is_of_utf8_bytes() -> None:
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert md5_of_body("ünï") == hashlib.md5("ünï".encode()).hexdigest()


def test_single_string_attribute_vector() -> None:
    assert md5_of_attributes(STORE) == "cd28f3b68aeee4b2eac9c66f2f694b58"


def test_string_and_number_attributes_vector() -> None:
    assert md5_of_attributes(FIVE) == "10809b55e3d9b22c17220b7dbaf283ef"
    four = {k: v for k, v in FIVE.items() if k != "PricePerGallon"}
    assert md5_of_attributes(four) == "66d793da93becb551e41562575418975"


def test_attributes_are_sorted_by_name() -> None:
    attrs = {"test_attribute_name_2": s("test_attribute_value_2"),
             "test_attribute_name_1": s("test_attribute_value_1")}  # fmt: skip
    assert md5_of_attributes(attrs) == "d53f3b558fe951154770f25cb63dbba9"


def test_binary_attribute_vector() -> None:
    attrs = {"test_attribute_name": Attr("Binary", binary_value=b"test_attribute_value")}
    assert md5_of_attributes(attrs) == "23f6bd27ea87aab7dfeadcc9aebee495"


def test_no_attributes_has_no_md5() -> None:
    assert md5_of_attributes({}) is None
    assert md5_of_system_attributes({}) is None


def test_custom_type_suffix_keeps_its_transport_byte() -> None:
    plain = md5_of_attributes({"n": Attr("Binary.png", binary_value=b"x")})
    assert plain == reference({"n": Attr("Binary.png", binary_value=b"x")})
    assert plain != md5_of_attributes({"n": Attr("String.png", string_value="x")})


def reference(attrs: dict[str, Attr]) -> str:
    """The documented encoding, written independently of the module under test."""
    out = b""
    for name in sorted(attrs):
        attr = attrs[name]
        binary = attr.data_type.split(".")[0] == "Binary"
        value = attr.binary_value if binary else (attr.string_value or "").encode()
        for part in (name.encode(), attr.data_type.encode()):
            out += struct.pack(">I", len(part)) + part
        out += bytes([2 if binary else 1]) + struct.pack(">I", len(value or b"")) + (value or b"")
    return hashlib.md5(out).hexdigest()


names = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=12)
values = st.one_of(
    st.builds(lambda t, v: Attr(t, string_value=v),
              st.sampled_from(["String", "Number", "String.x"]), st.text(min_size=1)),
    st.builds(lambda v: Attr("Binary", binary_value=v), st.binary(min_size=1)),
)  # fmt: skip


@given(st.dictionaries(names, values, min_size=1, max_size=10))
def test_matches_the_documented_encoding(attrs: dict[str, Attr]) -> None:
    assert md5_of_attributes(attrs) == reference(attrs)
    assert md5_of_system_attributes(attrs) == reference(attrs)
