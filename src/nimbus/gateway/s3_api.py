"""The S3 REST-XML API: one handler per operation, shapes ⇄ `ObjectsService` calls.

Streaming bodies arrive as async iterators (`S3Adapter` decodes aws-chunked and checks
the signed payload hash while they stream); GetObject answers with one, so no object is
ever held whole in memory. S3's own rules live in `nimbus.objects`.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from nimbus.gateway import s3_shapes as shapes
from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.objects.checksums import ChecksumAlgorithm
from nimbus.objects.model import (
    CompletedPart,
    ListPage,
    MetadataDirective,
    ObjectInfo,
    RequestInfo,
)
from nimbus.objects.service import ObjectsService

# GetObject bodies up to this size are read on the event loop and sent whole: for a 1 KB
# object the worker-thread read and the streamed response's task cost ~3x the read.
INLINE_READ: Final = 64 * 1024


def _request(ctx: RequestContext) -> RequestInfo:
    """Who asked, as the change's notification records tell."""
    return RequestInfo(ctx.request_id, ctx.client_ip)


def _owner(ctx: RequestContext) -> Params:
    return {"ID": ctx.account_id, "DisplayName": "nimbus"}


async def create_bucket(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    await objects.create_bucket(params["Bucket"])
    return {"Location": f"/{params['Bucket']}"}


async def head_bucket(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    await objects.head_bucket(params["Bucket"])
    return {"BucketRegion": ctx.region}


async def list_buckets(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    prefix = params.get("Prefix") or ""
    buckets = [b for b in await objects.list_buckets() if b.name.startswith(prefix)]
    return {
        "Buckets": [
            {"Name": b.name, "CreationDate": shapes.when(b.created), "BucketRegion": ctx.region}
            for b in buckets
        ],
        "Owner": _owner(ctx),
    }


async def delete_bucket(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    await objects.delete_bucket(params["Bucket"])
    return {}


async def get_bucket_location(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    await objects.head_bucket(params["Bucket"])
    # us-east-1 answers an empty LocationConstraint, as AWS does
    return {"LocationConstraint": None if ctx.region == "us-east-1" else ctx.region}


async def put_object(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    info = await objects.put_object(
        params["Bucket"],
        params["Key"],
        params["Body"],
        attributes=shapes.attributes(params),
        content_md5=params.get("ContentMD5"),
        checksum=shapes.checksum_request(params, ctx.trailer),
        request=_request(ctx),
    )
    return {"ETag": info.etag, **shapes.checksum_members(info.checksum)}


def _checksum_headers(objects_info: ObjectInfo, params: Params) -> Params:
    """GetObject/HeadObject return the stored checksum when asked (ChecksumMode=ENABLED);
    composite (multipart) values are left out, as botocore skips them anyway."""
    checksum = objects_info.checksum
    if params.get("ChecksumMode") != "ENABLED" or checksum is None or "-" in checksum.value:
        return {}
    return shapes.checksum_members(checksum)


async def get_object(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    read = await objects.get_object(
        params["Bucket"],
        params["Key"],
        range_header=params.get("Range"),
        conditions=shapes.conditions(params),
    )
    out = shapes.object_headers(read.info, params)
    if read.range is None:
        out["ContentLength"] = read.info.size
        out.update(_checksum_headers(read.info, params))
    else:
        out["ContentLength"] = read.range.length
        out["ContentRange"] = read.range.content_range
    small = read.body.length <= INLINE_READ
    out["Body"] = read.body.read_now() if small else read.body.chunks()
    return out


async def head_object(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    info = await objects.head_object(params["Bucket"], params["Key"], shapes.conditions(params))
    out = shapes.object_headers(info, params)
    out["ContentLength"] = info.size
    out.update(_checksum_headers(info, params))
    return out


async def delete_object(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    await objects.delete_object(params["Bucket"], params["Key"], request=_request(ctx))
    return {}


async def delete_objects(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    request = params.get("Delete") or {}
    keys = [entry["Key"] for entry in request.get("Objects", [])]
    outcomes = await objects.delete_objects(params["Bucket"], keys, request=_request(ctx))
    quiet = bool(request.get("Quiet"))
    deleted = [{"Key": o.key} for o in outcomes if o.error is None and not quiet]
    errors = [
        {"Key": o.key, "Code": o.error.code, "Message": o.error.message}
        for o in outcomes
        if o.error is not None
    ]
    return {"Deleted": deleted, "Errors": errors}


async def copy_object(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    source_bucket, source_key = shapes.copy_source(params["CopySource"])
    info = await objects.copy_object(
        source_bucket,
        source_key,
        params["Bucket"],
        params["Key"],
        metadata_directive=MetadataDirective(params.get("MetadataDirective") or "COPY"),
        tagging_directive=MetadataDirective(params.get("TaggingDirective") or "COPY"),
        attributes=shapes.attributes(params),
        conditions=shapes.conditions(params, "CopySource"),
        request=_request(ctx),
    )
    result = {"ETag": info.etag, "LastModified": shapes.when(info.last_modified)}
    return {"CopyObjectResult": {**result, **shapes.checksum_members(info.checksum)}}


def _listing(page: ListPage, params: Params, ctx: RequestContext, owner: bool) -> Params:
    encode = params.get("EncodingType") == "url"

    def enc(value: str | None) -> str | None:
        return shapes.url_encoded(value, encode)

    contents = []
    for item in page.contents:
        entry: Params = {
            "Key": enc(item.key),
            "LastModified": shapes.when(item.last_modified),
            "ETag": item.etag,
            "Size": item.size,
            "StorageClass": "STANDARD",
        }
        if item.checksum_algorithm is not None:
            entry["ChecksumAlgorithm"] = [item.checksum_algorithm.value]
        if owner:
            entry["Owner"] = _owner(ctx)
        contents.append(entry)
    out: Params = {
        "Name": params["Bucket"],
        "Prefix": enc(params.get("Prefix") or ""),
        "MaxKeys": params.get("MaxKeys", 1000),
        "IsTruncated": page.is_truncated,
        "Contents": contents,
        "CommonPrefixes": [{"Prefix": enc(prefix)} for prefix in page.common_prefixes],
    }
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if encode:
        out["EncodingType"] = "url"
    return out


async def list_objects_v2(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    page = await objects.list_objects_v2(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        delimiter=params.get("Delimiter") or None,
        max_keys=params.get("MaxKeys"),
        start_after=params.get("StartAfter"),
        continuation_token=params.get("ContinuationToken"),
    )
    out = _listing(page, params, ctx, owner=bool(params.get("FetchOwner")))
    out["KeyCount"] = page.key_count
    if params.get("ContinuationToken"):
        out["ContinuationToken"] = params["ContinuationToken"]
    if params.get("StartAfter"):
        out["StartAfter"] = shapes.url_encoded(
            params["StartAfter"], params.get("EncodingType") == "url"
        )
    if page.next_token:
        out["NextContinuationToken"] = page.next_token
    return out


async def list_objects(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    page = await objects.list_objects(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        delimiter=params.get("Delimiter") or None,
        max_keys=params.get("MaxKeys"),
        marker=params.get("Marker"),
    )
    out = _listing(page, params, ctx, owner=True)
    out["Marker"] = shapes.url_encoded(params.get("Marker") or "", out.get("EncodingType") == "url")
    if page.next_marker and params.get("Delimiter"):
        out["NextMarker"] = shapes.url_encoded(page.next_marker, out.get("EncodingType") == "url")
    return out


async def get_object_tagging(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    tags = await objects.get_object_tagging(params["Bucket"], params["Key"])
    return {"TagSet": [{"Key": key, "Value": value} for key, value in tags.items()]}


async def put_object_tagging(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    tag_set = (params.get("Tagging") or {}).get("TagSet", [])
    await objects.put_object_tagging(
        params["Bucket"], params["Key"], {tag["Key"]: tag["Value"] for tag in tag_set}
    )
    return {}


async def delete_object_tagging(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    await objects.delete_object_tagging(params["Bucket"], params["Key"])
    return {}


async def create_multipart_upload(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    named = params.get("ChecksumAlgorithm")
    upload = await objects.create_multipart_upload(
        params["Bucket"],
        params["Key"],
        attributes=shapes.attributes(params),
        checksum_algorithm=ChecksumAlgorithm.parse(named) if named else None,
    )
    out: Params = {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}
    if upload.checksum_algorithm is not None:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm.value
    return out


async def upload_part(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    part = await objects.upload_part(
        params["Bucket"],
        params["Key"],
        params["UploadId"],
        params["PartNumber"],
        params["Body"],
        content_md5=params.get("ContentMD5"),
        checksum=shapes.checksum_request(params, ctx.trailer),
    )
    return {"ETag": part.etag, **shapes.checksum_members(part.checksum)}


async def complete_multipart_upload(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    wire_parts = (params.get("MultipartUpload") or {}).get("Parts", [])
    parts = [
        CompletedPart(
            part_number=part.get("PartNumber", 0),
            etag=part.get("ETag", ""),
            checksum=next((part[m] for m in shapes.CHECKSUM_MEMBERS.values() if part.get(m)), None),
        )
        for part in wire_parts
    ]
    bucket, key = params["Bucket"], params["Key"]
    info = await objects.complete_multipart_upload(
        bucket, key, params["UploadId"], parts, request=_request(ctx)
    )
    return {
        "Location": f"{ctx.base_url}/{bucket}/{quote(key)}",
        "Bucket": bucket,
        "Key": key,
        "ETag": info.etag,
        **shapes.checksum_members(info.checksum),
    }


async def abort_multipart_upload(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    await objects.abort_multipart_upload(params["Bucket"], params["Key"], params["UploadId"])
    return {}


async def list_parts(objects: ObjectsService, params: Params, ctx: RequestContext) -> Params:
    marker = int(params.get("PartNumberMarker") or 0)
    page = await objects.list_parts(
        params["Bucket"],
        params["Key"],
        params["UploadId"],
        max_parts=params.get("MaxParts"),
        part_number_marker=marker,
    )
    out: Params = {
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "UploadId": params["UploadId"],
        "PartNumberMarker": marker,
        "MaxParts": params.get("MaxParts") or 1000,
        "IsTruncated": page.is_truncated,
        "StorageClass": "STANDARD",
        "Owner": _owner(ctx),
        "Initiator": _owner(ctx),
        "Parts": [
            {
                "PartNumber": part.part_number,
                "LastModified": shapes.when(part.last_modified),
                "ETag": part.etag,
                "Size": part.size,
                **shapes.checksum_members(part.checksum),
            }
            for part in page.parts
        ],
    }
    if page.next_part_number_marker is not None:
        out["NextPartNumberMarker"] = page.next_part_number_marker
    return out


async def list_multipart_uploads(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    prefix = params.get("Prefix") or ""
    uploads = await objects.list_multipart_uploads(params["Bucket"], prefix=prefix)
    return {
        "Bucket": params["Bucket"],
        "Prefix": prefix,
        "MaxUploads": params.get("MaxUploads") or 1000,
        "IsTruncated": False,
        "Uploads": [
            {
                "Key": upload.key,
                "UploadId": upload.upload_id,
                "Initiated": shapes.when(upload.initiated),
                "StorageClass": "STANDARD",
                "Owner": _owner(ctx),
                "Initiator": _owner(ctx),
            }
            for upload in uploads
        ],
    }


async def put_bucket_notification_configuration(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    config = shapes.notification_configuration(params.get("NotificationConfiguration") or {})
    await objects.put_bucket_notification_configuration(
        params["Bucket"], config,
        skip_destination_validation=bool(params.get("SkipDestinationValidation")),
        request=_request(ctx),
    )  # fmt: skip
    return {}


async def get_bucket_notification_configuration(
    objects: ObjectsService, params: Params, ctx: RequestContext
) -> Params:
    config = await objects.get_bucket_notification_configuration(params["Bucket"])
    return shapes.notification_members(config)


HANDLERS: dict[str, Handler[ObjectsService]] = {
    "PutBucketNotificationConfiguration": put_bucket_notification_configuration,
    "GetBucketNotificationConfiguration": get_bucket_notification_configuration,
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "ListBuckets": list_buckets,
    "DeleteBucket": delete_bucket,
    "GetBucketLocation": get_bucket_location,
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
    "CopyObject": copy_object,
    "ListObjectsV2": list_objects_v2,
    "ListObjects": list_objects,
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
