"""Read REST-XML request bodies into member dicts, per botocore shape.

An element's name is its member's ``locationName`` or, failing that, the member
name. Lists come in two forms: wrapped (``<Tags><Tag>..</Tag></Tags>``, items
named by the list member's ``locationName``, default ``member``) and
``flattened`` (the items repeat in place of the wrapper, as ``<Object>`` does in
DeleteObjects). Maps are ``<entry><key/><value/></entry>`` unless flattened.
Namespaces are ignored: S3 accepts bodies with and without its ``xmlns``.
Unknown elements are skipped, so newer clients keep working.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from nimbus.gateway.protocols.wire_values import Shape, WireFormatError, parse_timestamp

_TRUE_FALSE = {"true": True, "false": False}


def parse_xml_document(body: bytes) -> ElementTree.Element:
    """The root element of `body`; any XML syntax error is a WireFormatError.

    Document type declarations are refused: S3 bodies never need one, and
    without them no entity can be expanded.
    """
    if b"<!doctype" in body.lower():
        raise WireFormatError("Document type declarations are not accepted")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise WireFormatError(f"Malformed XML: {exc}") from exc


def local_name(tag: str) -> str:
    """``{namespace}Name`` -> ``Name``."""
    return tag.rpartition("}")[2]


def member_element_name(member: Shape, member_name: str) -> str:
    """The element a structure member travels in (botocore's rule, flattened lists aside)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item_name = member.member.serialization.get("name")
        if item_name is not None:
            return str(item_name)
    return str(member.serialization.get("name", member_name))


def decode_xml(shape: Shape, element: ElementTree.Element) -> Any:
    """The Python value of `element` for `shape`."""
    decoder = _DECODERS.get(shape.type_name, _decode_text)
    return decoder(shape, element)


def decode_structure(shape: Shape, element: ElementTree.Element) -> dict[str, Any]:
    children: dict[str, list[ElementTree.Element]] = {}
    for child in element:
        children.setdefault(local_name(child.tag), []).append(child)
    result: dict[str, Any] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        wire = member_element_name(member, name)
        if member.serialization.get("xmlAttribute"):
            value = _attribute(element, wire)
            if value is not None:
                result[name] = _decode_scalar(member, value)
            continue
        found = children.get(wire)
        if not found:
            continue
        if member.type_name in ("list", "map") and member.serialization.get("flattened"):
            result[name] = _decode_flattened(member, found)
        else:
            result[name] = decode_xml(member, found[0])
    return result


def _attribute(element: ElementTree.Element, wire: str) -> str | None:
    # "xsi:type" arrives as "{http://www.w3.org/2001/XMLSchema-instance}type".
    wanted = wire.rpartition(":")[2]
    for key, value in element.attrib.items():
        if local_name(key) == wanted:
            return value
    return None


def _decode_flattened(shape: Shape, items: list[ElementTree.Element]) -> Any:
    if shape.type_name == "list":
        return [decode_xml(shape.member, item) for item in items]
    return dict(_map_entry(shape, item) for item in items)


def _decode_list(shape: Shape, element: ElementTree.Element) -> list[Any]:
    item_name = shape.member.serialization.get("name", "member")
    return [decode_xml(shape.member, c) for c in element if local_name(c.tag) == item_name]


def _decode_map(shape: Shape, element: ElementTree.Element) -> dict[str, Any]:
    return dict(_map_entry(shape, entry) for entry in element if local_name(entry.tag) == "entry")


def _map_entry(shape: Shape, entry: ElementTree.Element) -> tuple[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    key: str | None = None
    value: Any = None
    for child in entry:
        if local_name(child.tag) == key_name:
            key = child.text or ""
        elif local_name(child.tag) == value_name:
            value = decode_xml(shape.value, child)
    if key is None:
        raise WireFormatError(f"A {shape.name} entry has no <{key_name}>")
    return key, value


def _decode_text(shape: Shape, element: ElementTree.Element) -> Any:
    return _decode_scalar(shape, element.text or "")


def _decode_scalar(shape: Shape, text: str) -> Any:
    decoder = _SCALARS.get(shape.type_name)
    return text if decoder is None else decoder(shape, text.strip())


def _integer(shape: Shape, text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise WireFormatError(f"'{text}' is not a valid {shape.type_name}") from exc


def _float(shape: Shape, text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise WireFormatError(f"'{text}' is not a valid number") from exc


def _boolean(shape: Shape, text: str) -> bool:
    value = _TRUE_FALSE.get(text.lower())
    if value is None:
        raise WireFormatError(f"'{text}' is not a valid boolean")
    return value


def _blob(shape: Shape, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireFormatError(f"'{text}' is not valid base64") from exc


_SCALARS: dict[str, Callable[[Shape, str], Any]] = {
    "integer": _integer,
    "long": _integer,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
    "blob": _blob,
    "timestamp": lambda shape, text: parse_timestamp(text, shape.name),
}

_DECODERS: dict[str, Callable[[Shape, ElementTree.Element], Any]] = {
    "structure": decode_structure,
    "list": _decode_list,
    "map": _decode_map,
}
