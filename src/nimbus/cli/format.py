"""How the client commands write sizes and times for people."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ("B", "KiB", "MiB", "GiB")
_STAMP = "%Y-%m-%d %H:%M:%S"


def human_size(size: int) -> str:
    """Bytes for people: `512 B`, `1.5 KiB`, `50.0 MiB`."""
    value = float(size)
    for unit in _UNITS[:-1]:
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {_UNITS[-1]}"


def utc_stamp(moment: datetime) -> str:
    """A zone-aware moment as `2024-05-01 12:00:00`, in UTC."""
    return moment.astimezone(UTC).strftime(_STAMP)


def utc_time(moment: datetime) -> str:
    """A zone-aware moment as `2024-05-01 12:00:00 UTC`."""
    return f"{utc_stamp(moment)} UTC"


def short_time(last_modified: str) -> str:
    """Lambda's `2024-05-01T12:00:00.123+0000` as `2024-05-01 12:00:00 UTC`."""
    try:
        moment = datetime.strptime(last_modified, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return last_modified
    return utc_time(moment)
