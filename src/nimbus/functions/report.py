"""The log lines Lambda writes around every invocation, and the error payloads it reports."""

from __future__ import annotations

import json
import math
import time

from nimbus.functions.model import FunctionConfig
from nimbus.sandbox.outcome import Outcome, OutcomeKind


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}\n"


def report_line(request_id: str, config: FunctionConfig, outcome: Outcome, billed_ms: int) -> str:
    used_mb = math.ceil((outcome.max_memory_bytes or 0) / (1024 * 1024))
    if outcome.kind is OutcomeKind.OUT_OF_MEMORY:
        used_mb = config.memory_size
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {outcome.duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {config.memory_size} MB",
        f"Max Memory Used: {min(used_mb, config.memory_size)} MB",
    ]
    if outcome.init_ms is not None:
        fields.append(f"Init Duration: {outcome.init_ms:.2f} ms")
    return "\t".join(fields) + "\t\n"


def timeout_line(request_id: str, timeout_s: int) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return f"{stamp}.000Z {request_id} Task timed out after {timeout_s:.2f} seconds\n"


def error_payload(request_id: str, outcome: Outcome, timeout_s: int) -> bytes:
    """The body Lambda returns when the runtime itself failed the invocation."""
    if outcome.kind is OutcomeKind.TIMEOUT:
        error_type = "Sandbox.Timedout"
        message = f"Task timed out after {timeout_s:.2f} seconds"
    elif outcome.kind is OutcomeKind.OUT_OF_MEMORY:
        error_type = "Runtime.OutOfMemory"
        message = "Runtime exited with error: signal: killed"
    else:
        error_type = "Runtime.ExitError"
        message = exit_message(outcome.exit_status)
    body = {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
    return json.dumps(body).encode()


def exit_message(status: int | None) -> str:
    if status is None or status == 0:
        return "Runtime exited without providing a reason"
    if status < 0:
        names = {9: "killed", 15: "terminated", 11: "segmentation fault", 6: "aborted"}
        return f"Runtime exited with error: signal: {names.get(-status, str(-status))}"
    return f"Runtime exited with error: exit status {status}"
