"""SQS errors: each knows its model shape (`code`), legacy query code and HTTP status.

SQS speaks JSON with `awsQueryCompatible`: the body's `__type` carries the shape name and
the `x-amzn-query-error` header the legacy code, which botocore reports as `Error.Code`.

    ClientError
     ├── QueueDoesNotExist           AWS.SimpleQueueService.NonExistentQueue
     ├── QueueNameExists             QueueAlreadyExists
     ├── QueueDeletedRecently        AWS.SimpleQueueService.QueueDeletedRecently
     ├── InvalidAttributeName / InvalidAttributeValue
     ├── InvalidParameterValue       InvalidParameterValue (shape not modeled)
     ├── MissingParameter            MissingParameter
     ├── InvalidMessageContents      InvalidMessageContents
     ├── ReceiptHandleIsInvalid      ReceiptHandleIsInvalid
     ├── MessageNotInflight          AWS.SimpleQueueService.MessageNotInflight
     ├── PurgeQueueInProgress        AWS.SimpleQueueService.PurgeQueueInProgress (403)
     ├── batch request errors        AWS.SimpleQueueService.<Shape>
     └── OverLimit                   OverLimit (403)
"""

from __future__ import annotations

from nimbus.errors import ClientError

_LEGACY = "AWS.SimpleQueueService."


class QueueError(ClientError):
    """Root of the SQS client errors."""


class QueueDoesNotExist(QueueError):
    code = "QueueDoesNotExist"
    query_code = _LEGACY + "NonExistentQueue"

    def __init__(self, message: str = "The specified queue does not exist.") -> None:
        super().__init__(message)


class QueueNameExists(QueueError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(QueueError):
    code = "QueueDeletedRecently"
    query_code = _LEGACY + "QueueDeletedRecently"


class InvalidAttributeName(QueueError):
    code = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValue(QueueError):
    code = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class InvalidParameterValue(QueueError):
    code = "InvalidParameterValueException"
    query_code = "InvalidParameterValue"


class MissingParameter(QueueError):
    code = "MissingRequiredParameterException"
    query_code = "MissingParameter"


class InvalidMessageContents(QueueError):
    code = "InvalidMessageContents"
    query_code = "InvalidMessageContents"


class ReceiptHandleIsInvalid(QueueError):
    code = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"

    def __init__(self, handle: str) -> None:
        super().__init__(f'The input receipt handle "{handle}" is not a valid receipt handle.')


class MessageNotInflight(QueueError):
    code = "MessageNotInflight"
    query_code = _LEGACY + "MessageNotInflight"

    def __init__(self, message: str = "The message referred to isn't in flight.") -> None:
        super().__init__(message)


class PurgeQueueInProgress(QueueError):
    code = "PurgeQueueInProgress"
    query_code = _LEGACY + "PurgeQueueInProgress"
    status = 403


class EmptyBatchRequest(QueueError):
    code = "EmptyBatchRequest"
    query_code = _LEGACY + "EmptyBatchRequest"


class TooManyEntriesInBatchRequest(QueueError):
    code = "TooManyEntriesInBatchRequest"
    query_code = _LEGACY + "TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(QueueError):
    code = "BatchEntryIdsNotDistinct"
    query_code = _LEGACY + "BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(QueueError):
    code = "InvalidBatchEntryId"
    query_code = _LEGACY + "InvalidBatchEntryId"


class BatchRequestTooLong(QueueError):
    code = "BatchRequestTooLong"
    query_code = _LEGACY + "BatchRequestTooLong"


class OverLimit(QueueError):
    code = "OverLimit"
    query_code = "OverLimit"
    status = 403
