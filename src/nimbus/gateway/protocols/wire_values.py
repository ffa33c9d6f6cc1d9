"""Convert single values between their wire form and Python, per botocore shape.

Two wire forms exist in the JSON-family protocols: JSON values (request and
response bodies) and text (URI labels, query strings, headers). Decoding turns
the wire form into what handlers see: ``int``, ``float``, ``bool``, ``str``,
``bytes`` for blobs, timezone-aware ``datetime`` for timestamps, ``dict`` and
``list`` for structures, maps and lists (keyed by model member names).
Encoding is the reverse. A value that cannot be decoded raises `WireFormatError`,
which the protocol turns into the AWS error it uses for malformed requests.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

Shape = Any  # botocore.model.Shape; botocore ships no type hints

_INT_TEXT = re.compile(r"-?[0-9]{1,20}")
_FLOAT_TEXT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_BODY_TIMESTAMP = "unixtimestamp"
_HEADER_TIMESTAMP = "rfc822"


class WireFormatError(ValueError):
    """A wire value does not have the type its shape declares."""


def lower_camel(name: str) -> str:
    """AWS names members in messages by lowerCamelCase: MemorySize -> memorySize."""
    return name[:1].lower() + name[1:]


def decode_json(shape: Shape, value: Any, path: str) -> Any:
    """The Python value of JSON `value` for `shape`; `path` names it in errors."""
    if getattr(shape, "is_document_type", False):
        return value
    decoder: Callable[[Shape, Any, str], Any] = _JSON_DECODERS.get(shape.type_name, _decode_string)
    return decoder(shape, value, path)


def _decode_structure(shape: Shape, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(value, "a structure", path)
    by_wire = wire_names(shape)
    result: dict[str, Any] = {}
    for key, item in value.items():
        name = by_wire.get(key)
        if name is not None and item is not None:
            member = shape.members[name]
            result[name] = decode_json(member, item, f"{path}.{lower_camel(name)}".lstrip("."))
    return result


def wire_names(shape: Shape) -> dict[str, str]:
    """Map a structure's JSON keys to its member names."""
    return {m.serialization.get("name", n): n for n, m in shape.members.items()}


def _decode_list(shape: Shape, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _type_error(value, "a list", path)
    return [
        decode_json(shape.member, item, f"{path}.{i}.member") for i, item in enumerate(value, 1)
    ]


def _decode_map(shape: Shape, value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _type_error(value, "a map", path)
    return {key: decode_json(shape.value, item, f"{path}.{key}") for key, item in value.items()}


def _decode_string(shape: Shape, value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _type_error(value, "a string", path)
    return value


def _decode_integer(shape: Shape, value: Any, path: str) -> int:
    low, high = _INT_RANGES.get(shape.type_name, _INT_RANGES["long"])
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _type_error(value, f"an {shape.type_name}", path)
    return value


def _decode_float(shape: Shape, value: Any, path: str) -> float:
    if isinstance(value, str) and value in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _type_error(value, "a number", path)
    return float(value)


def _decode_boolean(shape: Shape, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(value, "a boolean", path)
    return value


def _decode_blob(shape: Shape, value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _type_error(value, "a base64 string", path)
    return _base64(value, path)


def _decode_timestamp(shape: Shape, value: Any, path: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _type_error(value, "a timestamp", path)
    return parse_timestamp(str(value) if isinstance(value, str) else value, path)


_JSON_DECODERS: dict[str, Callable[[Shape, Any, str], Any]] = {
    "structure": _decode_structure,
    "list": _decode_list,
    "map": _decode_map,
    "string": _decode_string,
    "integer": _decode_integer,
    "long": _decode_integer,
    "float": _decode_float,
    "double": _decode_float,
    "boolean": _decode_boolean,
    "blob": _decode_blob,
    "timestamp": _decode_timestamp,
}


def _type_error(value: Any, expected: str, path: str) -> WireFormatError:
    kind = "null" if value is None else type(value).__name__
    return WireFormatError(f"Expected {expected} at '{path}' but found {kind}")


def _base64(text: str, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireFormatError(f"Value at '{path}' is not valid base64") from exc


def parse_timestamp(value: str | int | float, path: str) -> datetime:
    """Accept every timestamp form botocore sends: epoch seconds, ISO 8601, RFC 822."""
    try:
        if isinstance(value, int | float) or _FLOAT_TEXT.fullmatch(value):
            return datetime.fromtimestamp(float(value), UTC)
        if "," in value or " GMT" in value:
            return parsedate_to_datetime(value).astimezone(UTC)
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError, TypeError, IndexError, AttributeError) as exc:
        raise WireFormatError(f"Value at '{path}' is not a valid timestamp") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def decode_text(shape: Shape, text: str, path: str) -> Any:
    """The Python value of a URI label, query value or header for a scalar `shape`."""
    decoder = _TEXT_DECODERS.get(shape.type_name)
    if decoder is not None:
        return decoder(shape, text, path)
    if shape.serialization.get("jsonvalue"):
        return _decode_json_header(text, path)
    return text


def _text_integer(shape: Shape, text: str, path: str) -> int:
    if not _INT_TEXT.fullmatch(text):
        raise WireFormatError(f"Value '{text}' at '{path}' is not a valid {shape.type_name}")
    return _decode_integer(shape, int(text), path)


def _text_boolean(shape: Shape, text: str, path: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise WireFormatError(f"Value '{text}' at '{path}' is not a valid boolean")
    return text.lower() == "true"


def _text_float(shape: Shape, text: str, path: str) -> float:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if not _FLOAT_TEXT.fullmatch(text):
        raise WireFormatError(f"Value '{text}' at '{path}' is not a valid number")
    return float(text)


_TEXT_DECODERS: dict[str, Callable[[Shape, str, str], Any]] = {
    "integer": _text_integer,
    "long": _text_integer,
    "boolean": _text_boolean,
    "float": _text_float,
    "double": _text_float,
    "timestamp": lambda shape, text, path: parse_timestamp(text, path),
    "blob": lambda shape, text, path: _base64(text, path),
}


def _decode_json_header(text: str, path: str) -> Any:
    try:
        return json.loads(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise WireFormatError(f"Value at '{path}' is not base64-encoded JSON") from exc


def split_header_list(text: str) -> list[str]:
    """Split a comma-separated header, honouring double-quoted items (RFC 7230)."""
    items: list[str] = []
    for match in re.finditer(r'\s*("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)', text):
        item = match.group(1)
        if item.startswith('"') and item.endswith('"') and len(item) > 1:
            item = re.sub(r"\\(.)", r"\1", item[1:-1])
        items.append(item)
        if match.end() >= len(text):
            break
    return items


def encode_json(shape: Shape, value: Any) -> Any:
    """The JSON-ready value of Python `value` for `shape` (inverse of decode_json)."""
    if value is None or getattr(shape, "is_document_type", False):
        return value
    encoder = _JSON_ENCODERS.get(shape.type_name)
    return value if encoder is None else encoder(shape, value)


def encode_structure(shape: Shape, value: Mapping[str, Any]) -> dict[str, Any]:
    """Encode a structure's members; None means absent. Unknown keys are a bug."""
    members = shape.members
    result: dict[str, Any] = {}
    for name, item in value.items():
        if item is None:
            continue
        member = members.get(name)
        if member is None:
            raise KeyError(f"{shape.name} has no member {name!r}")
        result[member.serialization.get("name", name)] = encode_json(member, item)
    return result


def _as_bytes(value: bytes | bytearray | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def format_timestamp(value: datetime | str | float, timestamp_format: str) -> str | float:
    """A datetime in the model's timestampFormat; strings and numbers pass through."""
    if not isinstance(value, datetime):
        return value
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    fmt = timestamp_format.lower()
    if fmt == "iso8601":
        millis = f".{aware.microsecond // 1000:03d}" if aware.microsecond else ""
        return aware.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"
    if fmt == "rfc822":
        return format_datetime(aware, usegmt=True)
    seconds = aware.timestamp()
    return int(seconds) if seconds.is_integer() else round(seconds, 3)


def encode_text(shape: Shape, value: Any) -> str:
    """A header value for Python `value` (inverse of decode_text)."""
    encoder = _TEXT_ENCODERS.get(shape.type_name)
    if encoder is not None:
        return encoder(shape, value)
    if shape.serialization.get("jsonvalue"):
        compact = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return base64.b64encode(compact).decode("ascii")
    return str(value)


def _encode_blob(shape: Shape, value: bytes | bytearray | str) -> str:
    return base64.b64encode(_as_bytes(value)).decode("ascii")


def _text_timestamp(shape: Shape, value: datetime | str | float) -> str:
    return str(
        format_timestamp(value, shape.serialization.get("timestampFormat", _HEADER_TIMESTAMP))
    )


def _text_list(shape: Shape, value: list[Any]) -> str:
    return ",".join(_quote_header_item(encode_text(shape.member, item)) for item in value)


_JSON_ENCODERS: dict[str, Callable[[Shape, Any], Any]] = {
    "structure": encode_structure,
    "list": lambda shape, value: [encode_json(shape.member, item) for item in value],
    "map": lambda shape, value: {k: encode_json(shape.value, v) for k, v in value.items()},
    "blob": _encode_blob,
    "timestamp": lambda shape, value: format_timestamp(
        value, shape.serialization.get("timestampFormat", _BODY_TIMESTAMP)
    ),
    "float": lambda shape, value: _encode_float(value),
    "double": lambda shape, value: _encode_float(value),
}

_TEXT_ENCODERS: dict[str, Callable[[Shape, Any], str]] = {
    "list": _text_list,
    "boolean": lambda shape, value: "true" if value else "false",
    "timestamp": _text_timestamp,
    "blob": _encode_blob,
    "float": lambda shape, value: str(_encode_float(value)),
    "double": lambda shape, value: str(_encode_float(value)),
}


def _quote_header_item(item: str) -> str:
    if '"' in item or "," in item:
        return '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return item
