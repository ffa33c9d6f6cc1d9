"""Object tag sets: S3's limits on count and lengths."""

from __future__ import annotations

from collections.abc import Mapping

from nimbus.objects.errors import InvalidTag

MAX_TAGS = 10
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """A copy of `tags`, or InvalidTag with S3's text for the first limit broken."""
    if len(tags) > MAX_TAGS:
        raise InvalidTag("Object tags cannot be greater than 10")
    for key, value in tags.items():
        if not key:
            raise InvalidTag("The TagKey you have provided is invalid")
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidTag("The TagKey you have provided is too long, max 128")
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidTag("The TagValue you have provided is too long, max 256")
    return dict(tags)
