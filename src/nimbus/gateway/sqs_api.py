"""The SQS awsJson API: one handler per operation, shapes ⇄ `QueuesService` calls.

Parameters arrive as the botocore model's input members (already shape-validated);
SQS's own rules live in the service and `nimbus.queues.validation`. The MD5s SQS returns
are computed here, from what the caller sent or what the receiver gets, so the engine
never does work only the wire needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.queues.md5 import md5_of_attributes, md5_of_body, md5_of_system_attributes
from nimbus.queues.model import (
    BatchResult,
    HandleEntry,
    MessageAttribute,
    ReceivedMessage,
    SendEntry,
    SentMessage,
)
from nimbus.queues.service import QueuesService


def message_attributes(wire: Mapping[str, Params] | None) -> dict[str, MessageAttribute]:
    """`MessageAttributes` / `MessageSystemAttributes` members as model values."""
    return {
        name: MessageAttribute(
            data_type=value["DataType"],
            string_value=value.get("StringValue"),
            binary_value=value.get("BinaryValue"),
        )
        for name, value in (wire or {}).items()
    }


def _attribute_shape(attribute: MessageAttribute) -> Params:
    return {
        "DataType": attribute.data_type,
        "StringValue": attribute.string_value,
        "BinaryValue": attribute.binary_value,
    }


def _sent_shape(sent: SentMessage, body: str, attrs: Mapping[str, MessageAttribute],
                system: Mapping[str, MessageAttribute]) -> Params:  # fmt: skip
    return {
        "MessageId": sent.message_id,
        "MD5OfMessageBody": md5_of_body(body),
        "MD5OfMessageAttributes": md5_of_attributes(attrs),
        "MD5OfMessageSystemAttributes": md5_of_system_attributes(system),
        "SequenceNumber": sent.sequence_number,
    }


def _received_shape(message: ReceivedMessage) -> Params:
    attrs = message.message_attributes
    return {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": md5_of_body(message.body),
        "Body": message.body,
        "Attributes": dict(message.attributes) or None,
        "MD5OfMessageAttributes": md5_of_attributes(attrs),
        "MessageAttributes": {n: _attribute_shape(a) for n, a in attrs.items()} or None,
    }


def _failed_shape(result: BatchResult[Any]) -> list[Params]:
    return [
        {"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message}
        for f in result.failed
    ]


def _handle_batch_shape(result: BatchResult[Any]) -> Params:
    successful = [{"Id": entry_id} for entry_id, _ in result.successful]
    return {"Successful": successful, "Failed": _failed_shape(result)}


def _send_entry(entry: Params) -> SendEntry:
    return SendEntry(
        id=entry["Id"],
        body=entry["MessageBody"],
        delay_seconds=entry.get("DelaySeconds"),
        attributes=message_attributes(entry.get("MessageAttributes")),
        system_attributes=message_attributes(entry.get("MessageSystemAttributes")),
        group_id=entry.get("MessageGroupId"),
        dedup_id=entry.get("MessageDeduplicationId"),
    )


async def create_queue(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    attributes, tags = params.get("Attributes") or {}, params.get("tags") or {}
    return {"QueueUrl": await queues.create_queue(params["QueueName"], attributes, tags)}


async def get_queue_url(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    owner = params.get("QueueOwnerAWSAccountId")
    return {"QueueUrl": queues.get_queue_url(params["QueueName"], owner)}


async def list_queues(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    urls, token = queues.list_queues(
        params.get("QueueNamePrefix"), params.get("MaxResults"), params.get("NextToken")
    )
    return {"QueueUrls": urls or None, "NextToken": token}


async def get_queue_attributes(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    found = queues.get_queue_attributes(params["QueueUrl"], params.get("AttributeNames") or [])
    return {"Attributes": found or None}


async def set_queue_attributes(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    await queues.set_queue_attributes(params["QueueUrl"], params["Attributes"])
    return {}


async def delete_queue(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    await queues.delete_queue(params["QueueUrl"])
    return {}


async def purge_queue(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    await queues.purge_queue(params["QueueUrl"])
    return {}


async def send_message(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    body = params["MessageBody"]
    attrs = message_attributes(params.get("MessageAttributes"))
    system = message_attributes(params.get("MessageSystemAttributes"))
    sent = await queues.send_message(
        params["QueueUrl"],
        body,
        params.get("DelaySeconds"),
        attrs,
        system,
        params.get("MessageGroupId"),
        params.get("MessageDeduplicationId"),
    )
    return _sent_shape(sent, body, attrs, system)


async def send_message_batch(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    entries = [_send_entry(entry) for entry in params["Entries"]]
    result = await queues.send_message_batch(params["QueueUrl"], entries)
    by_id = {entry.id: entry for entry in entries}  # the service checked they are distinct
    successful = []
    for entry_id, sent in result.successful:
        entry = by_id[entry_id]
        shape = _sent_shape(sent, entry.body, entry.attributes, entry.system_attributes)
        successful.append({"Id": entry_id, **shape})
    return {"Successful": successful, "Failed": _failed_shape(result)}


async def receive_message(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    names = [*params.get("AttributeNames", []), *params.get("MessageSystemAttributeNames", [])]
    messages = await queues.receive_message(
        params["QueueUrl"],
        params.get("MaxNumberOfMessages"),
        params.get("WaitTimeSeconds"),
        params.get("VisibilityTimeout"),
        list(dict.fromkeys(names)),
        params.get("MessageAttributeNames") or [],
        params.get("ReceiveRequestAttemptId"),
    )
    return {"Messages": [_received_shape(m) for m in messages] or None}


async def delete_message(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    await queues.delete_message(params["QueueUrl"], params["ReceiptHandle"])
    return {}


async def delete_message_batch(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    entries = [HandleEntry(e["Id"], e["ReceiptHandle"]) for e in params["Entries"]]
    result = await queues.delete_message_batch(params["QueueUrl"], entries)
    return _handle_batch_shape(result)


async def change_message_visibility(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    await queues.change_message_visibility(
        params["QueueUrl"], params["ReceiptHandle"], params["VisibilityTimeout"]
    )
    return {}


async def change_message_visibility_batch(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    entries = [
        HandleEntry(e["Id"], e["ReceiptHandle"], e.get("VisibilityTimeout", 0))
        for e in params["Entries"]
    ]
    result = await queues.change_message_visibility_batch(params["QueueUrl"], entries)
    return _handle_batch_shape(result)


async def tag_queue(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    await queues.tag_queue(params["QueueUrl"], params["Tags"])
    return {}


async def untag_queue(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    await queues.untag_queue(params["QueueUrl"], params["TagKeys"])
    return {}


async def list_queue_tags(queues: QueuesService, params: Params, ctx: RequestContext) -> Params:
    return {"Tags": queues.list_queue_tags(params["QueueUrl"]) or None}


async def list_dead_letter_source_queues(
    queues: QueuesService, params: Params, ctx: RequestContext
) -> Params:
    urls, token = queues.list_dead_letter_source_queues(
        params["QueueUrl"], params.get("MaxResults"), params.get("NextToken")
    )
    return {"queueUrls": urls, "NextToken": token}


HANDLERS: dict[str, Handler[QueuesService]] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "DeleteQueue": delete_queue,
    "PurgeQueue": purge_queue,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
    "ListQueueTags": list_queue_tags,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
}
