"""Verify a signed AWS request and hand it to its service's adapter."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Mapping

from nimbus.errors import MissingAuthenticationToken, NimbusError, UnknownOperation
from nimbus.gateway.adapters import AwsRequest, ServiceAdapter
from nimbus.gateway.errors import error_response
from nimbus.gateway.protocols.rest_json import HttpResponse
from nimbus.iam.sigv2 import is_presigned_v2, verify_presigned
from nimbus.iam.sigv4 import SignedRequest, Verification, Verifier, credential_scope

__all__ = ["S3_SERVICE", "AwsGateway", "AwsRequest", "is_s3_request"]

S3_SERVICE = "s3"


def is_s3_request(request: AwsRequest) -> bool:
    """Signed for S3 (SigV4 scope or a SigV2 presigned URL): its body may stream."""
    if is_presigned_v2(request.query_string):
        return True
    scope = credential_scope(_signed(request))
    return scope is not None and scope.service == S3_SERVICE


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
            service = self._service_of(request)
            adapter = self._services.get(service)
            if adapter is None:
                raise UnknownOperation(f"nimbus does not serve the '{service}' API yet.")
            auth = self._authenticate(request, service)
            return await adapter.call(dataclasses.replace(request, auth=auth), request_id)
        except NimbusError as error:
            if adapter is None:
                return error_response(error, request_id)
            return adapter.error(error, request_id)

    def _service_of(self, request: AwsRequest) -> str:
        if is_presigned_v2(request.query_string):
            return S3_SERVICE
        scope = credential_scope(_signed(request))
        if scope is None:
            raise MissingAuthenticationToken("Missing Authentication Token")
        return scope.service

    def _authenticate(self, request: AwsRequest, service: str) -> Verification | None:
        """What the signature established; None for SigV2 (no payload hash, no chunks)."""
        now = datetime.datetime.now(datetime.UTC)
        if is_presigned_v2(request.query_string):
            verify_presigned(
                request.method, request.raw_path, request.query_string, request.headers,
                self._credentials.get, now,
            )  # fmt: skip
            return None
        s3 = service == S3_SERVICE
        return self._verifier.check(
            _signed(request), self._credentials.get, now, s3=s3,
            verify_payload=request.stream is None,
        )  # fmt: skip


def _signed(request: AwsRequest) -> SignedRequest:
    return SignedRequest(
        method=request.method,
        raw_path=request.raw_path,
        query_string=request.query_string,
        headers=request.headers,
        body=request.body,
    )
