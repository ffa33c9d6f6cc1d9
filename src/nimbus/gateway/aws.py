"""Verify a signed AWS request and hand it to its service's adapter."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping

from nimbus.errors import MissingAuthenticationToken, NimbusError, UnknownOperation
from nimbus.gateway.adapters import AwsRequest, ServiceAdapter
from nimbus.gateway.errors import error_response
from nimbus.gateway.protocols.rest_json import HttpResponse
from nimbus.iam.sigv4 import SignedRequest, Verifier, credential_scope

__all__ = ["AwsGateway", "AwsRequest"]


class AwsGateway:
    """Verifies the signature, then dispatches by the credential scope's service."""

    def __init__(
        self,
        services: Mapping[str, ServiceAdapter],
        credentials: Mapping[str, str],
        verifier: Verifier | None = None,
    ) -> None:
        self._services = dict(services)
        self._credentials = dict(credentials)
        self._verifier = verifier or Verifier()

    async def handle(self, request: AwsRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        adapter: ServiceAdapter | None = None
        try:
            service = self._authenticate(request)
            adapter = self._services.get(service)
            if adapter is None:
                raise UnknownOperation(f"nimbus does not serve the '{service}' API yet.")
            return await adapter.call(request, request_id)
        except NimbusError as error:
            if adapter is None:
                return error_response(error, request_id)
            return adapter.error(error, request_id)

    def _authenticate(self, request: AwsRequest) -> str:
        signed = SignedRequest(
            method=request.method,
            raw_path=request.raw_path,
            query_string=request.query_string,
            headers=request.headers,
            body=request.body,
        )
        if credential_scope(signed) is None:
            raise MissingAuthenticationToken("Missing Authentication Token")
        now = datetime.datetime.now(datetime.UTC)
        scope = self._verifier.verify(signed, self._credentials.get, now)
        return scope.service
