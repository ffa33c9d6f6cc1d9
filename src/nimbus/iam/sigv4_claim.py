"""The claim: what a request says about its own signature, from its header or its query.

Parsing the Authorization header (or the X-Amz-* query parameters of a presigned URL)
checks only its form: who signed, for which scope, which headers, when, and for how long
a presigned URL is valid. Nothing here needs the secret key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final, NamedTuple
from urllib.parse import unquote

from nimbus.iam.sigv4_failures import Failure, fail

ALGORITHM: Final = "AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"
MAX_PRESIGN_EXPIRES: Final = 604_800
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


@dataclass(frozen=True)
class CredentialScope:
    """Who signed, and for which day, region and service."""

    access_key_id: str
    date: str  # yyyymmdd
    region: str
    service: str

    @property
    def path(self) -> str:
        """The scope as it appears in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


class Claim(NamedTuple):
    """The signature a request claims to carry, from its header or its query."""

    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    expires: int | None  # seconds; set only for presigned URLs


def parse_scope(credential: str) -> CredentialScope | None:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != TERMINATOR or not parts[0]:
        return None
    if len(parts[1]) != 8 or not parts[1].isdigit():
        return None
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


def read_claim(headers: dict[str, list[str]], pairs: list[tuple[str, str]]) -> Claim:
    authorization = headers.get("authorization")
    if authorization is not None and any(key == "X-Amz-Algorithm" for key, _ in pairs):
        raise fail(
            Failure.MALFORMED,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified",
        )
    if authorization is not None:
        return _header_claim(authorization[0], headers)
    if any(key in _QUERY_AUTH_PARAMS for key, _ in pairs):
        return _query_claim(dict(reversed(pairs)))
    raise fail(Failure.MISSING, "Missing Authentication Token")


def _header_claim(value: str, headers: dict[str, list[str]]) -> Claim:
    timestamp = _header_timestamp(headers)
    fields = _authorization_fields(value, has_date=bool(timestamp))
    scope = parse_scope(fields["Credential"])
    if scope is None:
        raise fail(
            Failure.MALFORMED,
            f"Credential is malformed; expecting "
            f'"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{TERMINATOR}": '
            f"'{fields['Credential']}'.",
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    return Claim(scope, signed, fields["Signature"], timestamp, None)


def _authorization_fields(value: str, *, has_date: bool) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    if algorithm == ALGORITHM:
        # AWS splits on commas and whitespace alike: "Credential=AKID /2026..." is malformed.
        for piece in rest.replace(",", " ").split():
            key, equals, field = piece.partition("=")
            if not equals:
                raise fail(
                    Failure.MALFORMED,
                    f"'{piece}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{value}'.",
                )
            fields[key] = field
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not has_date:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise fail(Failure.MALFORMED, " ".join([*problems, f"Authorization={value}"]))
    return fields


def _header_timestamp(headers: dict[str, list[str]]) -> str:
    """The signing time as yyyymmddTHHMMSSZ from X-Amz-Date, else Date; "" if neither."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        return amz_date[0].strip()
    date = headers.get("date")
    if date is None:
        return ""
    try:
        parsed = parsedate_to_datetime(date[0])
    except (TypeError, ValueError):
        raise fail(
            Failure.MALFORMED, f"Date header is not a valid HTTP date: '{date[0]}'."
        ) from None
    if parsed.tzinfo is None:  # "-0000" means UTC with no zone information
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _query_claim(params: dict[str, str]) -> Claim:
    values = {key: unquote(params[key]) for key in _QUERY_AUTH_PARAMS if params.get(key)}
    if len(values) != len(_QUERY_AUTH_PARAMS):
        raise fail(
            Failure.MALFORMED,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise fail(Failure.MALFORMED, f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    scope = parse_scope(values["X-Amz-Credential"])
    if scope is None:
        raise fail(
            Failure.MALFORMED,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            f'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{TERMINATOR}".',
        )
    signed = tuple(values["X-Amz-SignedHeaders"].split(";"))
    expires = _presign_expires(values["X-Amz-Expires"])
    return Claim(scope, signed, values["X-Amz-Signature"], values["X-Amz-Date"], expires)


def _presign_expires(value: str) -> int:
    if not value.isdigit():
        raise fail(Failure.MALFORMED, "X-Amz-Expires should be a number")
    expires = int(value)
    if expires > MAX_PRESIGN_EXPIRES:
        raise fail(
            Failure.MALFORMED,
            f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_PRESIGN_EXPIRES}",
        )
    return expires
