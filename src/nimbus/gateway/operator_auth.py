"""Who may read the operator endpoints under /_nimbus (metrics, bill, queues, doctor).

A request passes when it carries one of:

- a SigV4 signature (header or presigned query) by the platform's credentials, checked
  by the same `Verifier` as every AWS call (any service name in the scope: the `nimbus`
  CLI signs for `nimbus`);
- `Authorization: Bearer <token>` equal to `Settings.metrics_bearer_token`, compared in
  constant time, so a Prometheus scraper needs no SigV4;
- nothing at all, but only while the server listens on a loopback address: whoever can
  reach it is already on this machine.

`/_nimbus/health` and the presigned code downloads (their own HMAC) are not guarded.
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Mapping

from starlette.requests import Request

from nimbus.errors import AccessDenied, NimbusError, RequestEntityTooLarge
from nimbus.iam.sigv4 import SignedRequest, Verifier, credential_scope
from nimbus.settings import Settings

# The operator endpoints are reads: a body larger than this is not one of their requests.
BODY_LIMIT = 64 * 1024

UNSIGNED_REFUSED = (
    "The platform endpoints answer only requests signed with the platform's credentials "
    "(SigV4) or carrying the metrics bearer token when nimbus listens on a non-loopback "
    "address."
)
BAD_TOKEN = "The bearer token is not the platform's metrics bearer token."


class OperatorGuard:
    """Decides whether one request may read an operator endpoint."""

    def __init__(
        self, settings: Settings, credentials: Mapping[str, str], verifier: Verifier
    ) -> None:
        self._open_unsigned = settings.binds_loopback
        self._token = settings.metrics_bearer_token.encode()
        self._credentials = dict(credentials)
        self._verifier = verifier

    def check(self, request: SignedRequest) -> None:
        """Return if the request may pass; raise the `AuthError` that says why not."""
        authorization = next(
            (value for name, value in request.headers if name.lower() == "authorization"), ""
        )
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            self._check_token(token.strip())
            return
        if credential_scope(request) is not None:
            now = datetime.datetime.now(datetime.UTC)
            self._verifier.verify(request, self._credentials.get, now)
            return
        if not self._open_unsigned:
            raise AccessDenied(UNSIGNED_REFUSED)

    def _check_token(self, token: str) -> None:
        # compare_digest on bytes: constant time whatever the token's characters
        provided = token.encode("utf-8", "surrogateescape")
        if not self._token or not hmac.compare_digest(provided, self._token):
            raise AccessDenied(BAD_TOKEN)


def wire_request(request: Request, body: bytes) -> SignedRequest:
    """The request exactly as it came off the wire, for rebuilding its signature."""
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return SignedRequest(
        method=request.method,
        raw_path=raw_path.decode("utf-8", errors="replace"),
        query_string=scope["query_string"].decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        body=body,
    )


async def refusal(guard: OperatorGuard, request: Request) -> NimbusError | None:
    """The error that refuses `request`, or None when it may pass."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            return RequestEntityTooLarge(f"Request must be smaller than {BODY_LIMIT} bytes")
    try:
        guard.check(wire_request(request, body))
    except NimbusError as error:
        return error
    return None
