"""The error every event pattern check raises; each caller wraps it in its service's error."""

from __future__ import annotations


class PatternError(ValueError):
    """An invalid pattern; `reason` is the text AWS puts after "Reason: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
