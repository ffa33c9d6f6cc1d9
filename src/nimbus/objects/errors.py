"""S3 errors: each knows its AWS code, HTTP status and message (AWS's texts, verbatim).

Errors that carry extra elements in S3's `<Error>` body (`<BucketName>`, `<Key>`,
`<MinSizeAllowed>` ...) return them from `extra_fields()`, in AWS's order.

    NimbusError
     ├── NotModified                 304 (not an error to the client: no body)
     └── ClientError
          └── S3Error
               ├── InvalidBucketName          400 (+ BucketName)
               ├── BucketAlreadyOwnedByYou    409 (+ BucketName)
               ├── BucketNotEmpty             409 (+ BucketName)
               ├── NoSuchBucket               404 (+ BucketName)
               ├── NoSuchKey                  404 (+ Key)
               ├── NoSuchUpload               404 (+ UploadId)
               ├── KeyTooLongError            400 (+ MaxSizeAllowed, Size)
               ├── InvalidRange               416 (+ RangeRequested, ActualObjectSize)
               ├── PreconditionFailed         412 (+ Condition)
               ├── InvalidRequest / InvalidArgument (+ ArgumentName, ArgumentValue)
               │    └── UnableToValidateDestinations (+ ArgumentName<n>, ArgumentValue<n>)
               ├── InvalidTag                 400
               ├── BadDigest / InvalidDigest  400
               ├── InvalidPart / InvalidPartOrder
               └── EntityTooSmall / EntityTooLarge
"""

from __future__ import annotations

from nimbus.errors import ClientError, NimbusError
from nimbus.errors import InvalidArgument as BaseInvalidArgument


class NotModified(NimbusError):
    """A GET/HEAD whose If-None-Match or If-Modified-Since held: answer 304, no body.

    `etag` and `last_modified` are for the 304's headers, as S3 sends them.
    """

    code = "NotModified"
    status = 304
    sender_fault = True

    def __init__(self, etag: str, last_modified: float) -> None:
        super().__init__("Not Modified")
        self.etag = etag
        self.last_modified = last_modified


class S3Error(ClientError):
    """Root of the S3 client errors."""


class _BucketError(S3Error):
    message_text = ""

    def __init__(self, bucket: str) -> None:
        super().__init__(self.message_text)
        self.bucket = bucket

    def extra_fields(self) -> dict[str, str]:
        return {"BucketName": self.bucket}


class InvalidBucketName(_BucketError):
    code = "InvalidBucketName"
    message_text = "The specified bucket is not valid."


class BucketAlreadyOwnedByYou(_BucketError):
    code = "BucketAlreadyOwnedByYou"
    status = 409
    message_text = (
        "Your previous request to create the named bucket succeeded and you already own it."
    )


class BucketNotEmpty(_BucketError):
    code = "BucketNotEmpty"
    status = 409
    message_text = "The bucket you tried to delete is not empty"


class NoSuchBucket(_BucketError):
    code = "NoSuchBucket"
    status = 404
    message_text = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.")
        self.key = key

    def extra_fields(self) -> dict[str, str]:
        return {"Key": self.key}


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    status = 404

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The specified upload does not exist. The upload ID may be invalid, "
            "or the upload may have been aborted or completed."
        )
        self.upload_id = upload_id

    def extra_fields(self) -> dict[str, str]:
        return {"UploadId": self.upload_id}


class KeyTooLongError(S3Error):
    code = "KeyTooLongError"

    def __init__(self, size: int, max_size: int) -> None:
        super().__init__("Your key is too long")
        self.size = size
        self.max_size = max_size

    def extra_fields(self) -> dict[str, str]:
        return {"MaxSizeAllowed": str(self.max_size), "Size": str(self.size)}


class InvalidRange(S3Error):
    code = "InvalidRange"
    status = 416

    def __init__(self, requested: str, size: int) -> None:
        super().__init__("The requested range is not satisfiable")
        self.requested = requested
        self.size = size

    def extra_fields(self) -> dict[str, str]:
        return {"RangeRequested": self.requested, "ActualObjectSize": str(self.size)}


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    status = 412

    def __init__(self, condition: str) -> None:
        super().__init__("At least one of the pre-conditions you specified did not hold")
        self.condition = condition

    def extra_fields(self) -> dict[str, str]:
        return {"Condition": self.condition}


class InvalidRequest(S3Error):
    code = "InvalidRequest"


class InvalidArgument(S3Error, BaseInvalidArgument):
    """The gateway's InvalidArgument, also an S3Error (per-key results in DeleteObjects)."""


class UnableToValidateDestinations(InvalidArgument):
    """A notification configuration naming destinations that fail validation; each one
    is an ArgumentName<n> (the ARN) / ArgumentValue<n> (why) pair, as S3 lists them."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__("Unable to validate the following destination configurations")
        self.failures = tuple(failures)

    def extra_fields(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        for number, (name, value) in enumerate(self.failures, start=1):
            fields[f"ArgumentName{number}"] = name
            fields[f"ArgumentValue{number}"] = value
        return fields


class InvalidTag(S3Error):
    code = "InvalidTag"


class BadDigest(S3Error):
    code = "BadDigest"


class InvalidDigest(S3Error):
    code = "InvalidDigest"

    def __init__(self, message: str = "The Content-MD5 you specified was invalid.") -> None:
        super().__init__(message)


class InvalidPart(S3Error):
    code = "InvalidPart"

    def __init__(self, upload_id: str, part_number: int, etag: str) -> None:
        super().__init__(
            "One or more of the specified parts could not be found.  The part may not have "
            "been uploaded, or the specified entity tag may not match the part's entity tag."
        )
        self.upload_id = upload_id
        self.part_number = part_number
        self.etag = etag

    def extra_fields(self) -> dict[str, str]:
        return {
            "UploadId": self.upload_id,
            "PartNumber": str(self.part_number),
            "ETag": self.etag,
        }


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        )
        self.upload_id = upload_id

    def extra_fields(self) -> dict[str, str]:
        return {"UploadId": self.upload_id}


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"

    def __init__(self, proposed: int, minimum: int, part_number: int, etag: str) -> None:
        super().__init__("Your proposed upload is smaller than the minimum allowed size")
        self.proposed = proposed
        self.minimum = minimum
        self.part_number = part_number
        self.etag = etag

    def extra_fields(self) -> dict[str, str]:
        return {
            "ProposedSize": str(self.proposed),
            "MinSizeAllowed": str(self.minimum),
            "PartNumber": str(self.part_number),
            "ETag": self.etag,
        }


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"

    def __init__(self, proposed: int, maximum: int) -> None:
        super().__init__("Your proposed upload exceeds the maximum allowed size")
        self.proposed = proposed
        self.maximum = maximum

    def extra_fields(self) -> dict[str, str]:
        return {"ProposedSize": str(self.proposed), "MaxSizeAllowed": str(self.maximum)}
