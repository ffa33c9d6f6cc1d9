"""Lambda's deployment package limits, and the errors AWS answers with.

Every rejection of a package is `InvalidParameterValue` with the AWS unzip text, except
the two size limits, which use their own AWS texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from nimbus.errors import InvalidParameterValue

UNZIP_ERROR_MESSAGE = (
    "Could not unzip uploaded file. Please check your file, then try to upload again."
)


@dataclass(frozen=True)
class PackageLimits:
    """Lambda's package limits; `entries` is nimbus's own guard, not an AWS limit."""

    zipped: int = 52_428_800
    unzipped: int = 262_144_000
    entries: int = 100_000


def unzip_error() -> InvalidParameterValue:
    return InvalidParameterValue(UNZIP_ERROR_MESSAGE)


def unzipped_too_large(limits: PackageLimits) -> InvalidParameterValue:
    return InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped} bytes")
