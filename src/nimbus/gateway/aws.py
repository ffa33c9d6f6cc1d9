"""Route a signed AWS request to its service's protocol adapter and operation handler."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import botocore.session

from nimbus.errors import MissingAuthenticationToken, NimbusError, UnknownOperation
from nimbus.functions.service import FunctionsService
from nimbus.gateway import lambda_api
from nimbus.gateway.errors import error_response
from nimbus.gateway.protocols.rest_json import HttpResponse, RestJsonProtocol
from nimbus.iam.sigv4 import SignedRequest, Verifier, credential_scope


@dataclass(frozen=True)
class AwsRequest:
    method: str
    raw_path: str
    query_string: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    base_url: str


class AwsGateway:
    """Verifies the signature, then dispatches by the credential scope's service."""

    def __init__(self, functions: FunctionsService, credentials: Mapping[str, str]) -> None:
        session = botocore.session.get_session()
        self._lambda = RestJsonProtocol(
            session.get_service_model("lambda"), unchecked_enums=["Runtime"]
        )
        self._functions = functions
        self._credentials = dict(credentials)
        self._verifier = Verifier()

    async def handle(self, request: AwsRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        try:
            service = self._authenticate(request)
            if service != "lambda":
                raise UnknownOperation(f"nimbus does not serve the '{service}' API yet.")
            response = await self._lambda_call(request, request_id)
        except NimbusError as error:
            response = error_response(error, request_id)
        return response

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

    async def _lambda_call(self, request: AwsRequest, request_id: str) -> HttpResponse:
        query = parse_qsl(request.query_string, keep_blank_values=True)
        operation, path_params = self._lambda.match(request.method, request.raw_path, query)
        headers = {name.lower(): value for name, value in request.headers}
        params = self._lambda.parse(operation, path_params, query, headers, request.body)
        handler = lambda_api.handler_for(operation.name)
        context = lambda_api.RequestContext(request_id=request_id, base_url=request.base_url)
        output = await handler(self._functions, params, context)
        response = self._lambda.serialize(operation, output)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response
