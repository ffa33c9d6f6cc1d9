"""The one exception root of nimbus.

Every error the platform reports to a client is a subclass of `NimbusError`.
Each class knows its AWS error code and HTTP status; the instance carries the
message. The gateway maps them to the wire in exactly one place
(`nimbus.gateway.errors`). Services raise these and know nothing of HTTP.

    NimbusError
     ├── ClientError                      4xx: the caller must change the request
     │    ├── ValidationError             400 ValidationException
     │    ├── InvalidParameterValue       400 InvalidParameterValueException
     │    ├── InvalidRequestContent       400 InvalidRequestContentException
     │    ├── InvalidParameter            400 InvalidParameterException (Logs)
     │    ├── SerializationError          400 SerializationException (awsJson bodies)
     │    ├── ResourceNotFound            404 ResourceNotFoundException
     │    ├── ResourceConflict            409 ResourceConflictException
     │    ├── ResourceAlreadyExists       400 ResourceAlreadyExistsException (Logs)
     │    ├── PreconditionFailed          412 PreconditionFailedException
     │    ├── RequestTooLarge             413 RequestTooLargeException
     │    ├── RequestEntityTooLarge       413 RequestEntityTooLargeException
     │    ├── TooManyRequests             429 TooManyRequestsException (+ Reason)
     │    ├── UnknownOperation            404 UnknownOperationException
     │    ├── MalformedXML                400 MalformedXML (REST-XML bodies, S3)
     │    ├── InvalidArgument             400 InvalidArgument (S3 headers, query)
     │    ├── MalformedPolicyDocument     400 MalformedPolicyDocument (IAM policy text)
     │    └── auth errors                 403 (signature, unknown key, expired; S3's
     │                                    own codes: SignatureDoesNotMatch, ...)
     └── ServiceError                     5xx: the platform failed
          └── NotImplementedOperation     501 NotImplemented
"""

from __future__ import annotations

from typing import ClassVar


class NimbusError(Exception):
    """Root of every error nimbus reports; `code` and `status` are the AWS ones."""

    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500
    sender_fault: ClassVar[bool] = False
    # awsQueryCompatible services (SQS): the legacy code sent in x-amzn-query-error
    query_code: ClassVar[str | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extra_fields(self) -> dict[str, str]:
        """Additional body fields some errors carry (e.g. a throttle's Reason)."""
        return {}


class ClientError(NimbusError):
    """The request cannot be served as sent."""

    code = "BadRequest"
    status = 400
    sender_fault = True


class ValidationError(ClientError):
    code = "ValidationException"


class InvalidParameterValue(ClientError):
    code = "InvalidParameterValueException"


class InvalidRequestContent(ClientError):
    code = "InvalidRequestContentException"


class InvalidParameter(ClientError):
    code = "InvalidParameterException"


class SerializationError(ClientError):
    """An awsJson request body that is not the JSON its operation's shape describes."""

    code = "SerializationException"


class ResourceNotFound(ClientError):
    code = "ResourceNotFoundException"
    status = 404


class ResourceConflict(ClientError):
    code = "ResourceConflictException"
    status = 409


class ResourceAlreadyExists(ClientError):
    code = "ResourceAlreadyExistsException"


class PreconditionFailed(ClientError):
    code = "PreconditionFailedException"
    status = 412


class RequestTooLarge(ClientError):
    code = "RequestTooLargeException"
    status = 413


class RequestEntityTooLarge(ClientError):
    code = "RequestEntityTooLargeException"
    status = 413


class UnknownOperation(ClientError):
    code = "UnknownOperationException"
    status = 404


class MalformedXML(ClientError):
    """The XML you provided was not well-formed or did not validate against our published schema"""

    code = "MalformedXML"

    def __init__(
        self,
        message: str = (
            "The XML you provided was not well-formed or did not validate against our "
            "published schema"
        ),
    ) -> None:
        super().__init__(message)


class InvalidArgument(ClientError):
    """S3's catch-all for a bad argument; names it in ArgumentName/ArgumentValue."""

    code = "InvalidArgument"

    def __init__(self, message: str, name: str | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.value = value

    def extra_fields(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        if self.name is not None:
            fields["ArgumentName"] = self.name
        if self.value is not None:
            fields["ArgumentValue"] = self.value
        return fields


class MalformedPolicyDocument(ClientError):
    """An IAM policy document that is not valid JSON or breaks the policy grammar."""

    code = "MalformedPolicyDocument"


class TooManyRequests(ClientError):
    """Throttled; `reason` is one of Lambda's documented throttle reasons."""

    code = "TooManyRequestsException"
    status = 429

    def __init__(self, reason: str, message: str = "Rate Exceeded.") -> None:
        super().__init__(message)
        self.reason = reason

    def extra_fields(self) -> dict[str, str]:
        return {"Reason": self.reason}


class AuthError(ClientError):
    status = 403
    # Which check failed (an `iam.sigv4_failures.Failure`), so each protocol can name it
    # with its own code; None for errors raised outside the signature checks.
    failure: object | None = None


class MissingAuthenticationToken(AuthError):
    code = "MissingAuthenticationTokenException"


class IncompleteSignature(AuthError):
    code = "IncompleteSignatureException"
    status = 400


class InvalidSignature(AuthError):
    code = "InvalidSignatureException"


class UnrecognizedClient(AuthError):
    code = "UnrecognizedClientException"


class AccessDenied(AuthError):
    code = "AccessDeniedException"


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"


class InvalidAccessKeyId(AuthError):
    code = "InvalidAccessKeyId"


class RequestTimeTooSkewed(AuthError):
    code = "RequestTimeTooSkewed"


class XAmzContentSHA256Mismatch(AuthError):
    code = "XAmzContentSHA256Mismatch"
    status = 400


class AuthorizationHeaderMalformed(AuthError):
    code = "AuthorizationHeaderMalformed"
    status = 400


class S3AccessDenied(AuthError):
    """S3 spells it without the `Exception` suffix."""

    code = "AccessDenied"


class ServiceError(NimbusError):
    """The platform could not complete a valid request."""

    code = "ServiceException"
    status = 500


class NotImplementedOperation(ServiceError):
    """A valid AWS operation this version of nimbus does not offer yet."""

    code = "NotImplemented"
    status = 501
