"""Write member dicts as REST-XML bodies, per botocore shape (the inverse of rest_xml_parse).

Timestamps in XML are ISO 8601 with milliseconds (``2026-12-04T21:00:00.000Z``),
as S3 writes them; booleans are ``true``/``false``; blobs are base64. None
means absent. A key the shape does not have is a bug in the handler: KeyError.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from nimbus.gateway.protocols.rest_xml_parse import member_element_name
from nimbus.gateway.protocols.wire_values import Shape

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def xml_document(root: ElementTree.Element) -> bytes:
    """`root` as a UTF-8 document with S3's double-quoted declaration."""
    if _uses_xsi(root):
        root.set("xmlns:xsi", _XSI)
    return (XML_DECLARATION + ElementTree.tostring(root, encoding="unicode")).encode("utf-8")


def encode_root(name: str, namespace: str, shape: Shape, value: Any) -> ElementTree.Element:
    """The root element `name` holding `value`, in the default `namespace`."""
    root = ElementTree.Element(name, {"xmlns": namespace})
    _fill(root, shape, value)
    return root


def encode_members(
    root: ElementTree.Element, shape: Shape, value: Mapping[str, Any], members: frozenset[str]
) -> None:
    """Append the body `members` of structure `value` to `root` (others travel elsewhere)."""
    _structure(root, shape, {k: v for k, v in value.items() if k in members})


def _fill(element: ElementTree.Element, shape: Shape, value: Any) -> None:
    filler = _CONTAINERS.get(shape.type_name)
    if filler is not None:
        filler(element, shape, value)
    else:
        element.text = scalar_text(shape, value)


def _structure(element: ElementTree.Element, shape: Shape, value: Mapping[str, Any]) -> None:
    for name, item in value.items():
        if item is None:
            continue
        member = shape.members.get(name)
        if member is None:
            raise KeyError(f"{shape.name} has no member {name!r}")
        wire = member_element_name(member, name)
        if member.serialization.get("xmlAttribute"):
            element.set(wire, scalar_text(member, item))
        elif member.type_name in ("list", "map") and member.serialization.get("flattened"):
            _flattened(element, member, wire, item)
        else:
            _fill(ElementTree.SubElement(element, wire), member, item)


def _flattened(parent: ElementTree.Element, shape: Shape, wire: str, value: Any) -> None:
    if shape.type_name == "list":
        for item in value:
            _fill(ElementTree.SubElement(parent, wire), shape.member, item)
        return
    for key, item in value.items():
        _map_entry(ElementTree.SubElement(parent, wire), shape, key, item)


def _list(element: ElementTree.Element, shape: Shape, value: Any) -> None:
    item_name = shape.member.serialization.get("name", "member")
    for item in value:
        _fill(ElementTree.SubElement(element, item_name), shape.member, item)


def _map(element: ElementTree.Element, shape: Shape, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        _map_entry(ElementTree.SubElement(element, "entry"), shape, key, item)


def _map_entry(entry: ElementTree.Element, shape: Shape, key: str, value: Any) -> None:
    ElementTree.SubElement(entry, shape.key.serialization.get("name", "key")).text = key
    _fill(
        ElementTree.SubElement(entry, shape.value.serialization.get("name", "value")),
        shape.value,
        value,
    )


_CONTAINERS: dict[str, Callable[[ElementTree.Element, Shape, Any], None]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
}


def scalar_text(shape: Shape, value: Any) -> str:
    """The text of one scalar value in an XML body."""
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp":
        return xml_timestamp(value) if isinstance(value, datetime) else str(value)
    if shape.type_name == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return str(value)


def xml_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, always: ``2026-12-04T21:00:00.000Z``."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S") + f".{aware.microsecond // 1000:03d}Z"


def _uses_xsi(root: ElementTree.Element) -> bool:
    return any(key.startswith("xsi:") for element in root.iter() for key in element.attrib)
