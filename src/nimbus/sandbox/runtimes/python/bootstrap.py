"""The life of one execution environment: confine, init the handler, serve invocations.

Runs in a process forked from the zygote. It talks to the platform over its own
stream socket with the frames of `wire`; stdout/stderr go to the environment's log
file, which the platform reads after every invocation.
"""

import json
import logging
import os
import resource
import signal
import sys
import time

import confine as confinement
import wire
from context import LambdaContext
from handler import RuntimeFault, error_payload, load_handler, log_exception


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = RequestIdFilter.request_id
        return True


class LambdaFormatter(logging.Formatter):
    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's API name
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def install_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        LambdaFormatter("[%(levelname)s]\t%(asctime)s\t%(aws_request_id)s\t%(message)s\n")
    )
    handler.terminator = ""
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def max_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def prepare(log_fd, spec):
    """Everything before user code runs: output, confinement, environment, cwd."""
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    plan = spec["plan"]
    warnings = confinement.confine(plan)
    tmpdir = os.environ.get("TMPDIR")
    os.environ.clear()
    os.environ.update(spec["environ"])
    os.environ["AWS_LAMBDA_LOG_STREAM_NAME"] = spec["function"]["log_stream"]
    if tmpdir:
        os.environ["TMPDIR"] = tmpdir
    code_dir = spec["function"]["code_dir"]
    os.chdir(code_dir)
    sys.path.insert(0, code_dir)
    install_logging()
    return warnings


def init(sock, spec, warnings):
    """Import the handler (the function's init); report READY or INIT_ERROR."""
    started = time.perf_counter()
    try:
        handler = load_handler(spec["function"]["handler"])
    except RuntimeFault as fault:
        print(f"[ERROR] {fault.error_type}: {fault.message}", file=sys.stderr)
        flush_output()
        sock.sendall(
            wire.encode({"kind": wire.INIT_ERROR}, json.dumps(fault.as_payload()).encode())
        )
        return None
    init_ms = (time.perf_counter() - started) * 1000.0
    flush_output()
    ready = {"kind": wire.READY, "pid": os.getpid(), "init_ms": init_ms, "warnings": warnings}
    sock.sendall(wire.encode(ready))
    return handler


def invoke(handler, function, header, body):
    """Run the handler once; return (status, response bytes)."""
    request_id = header["request_id"]
    RequestIdFilter.request_id = request_id
    os.environ["_X_AMZN_TRACE_ID"] = header.get("trace_id", "")
    context = LambdaContext(header, function)
    try:
        event = json.loads(body) if body else {}
        result = handler(event, context)
    except Exception as exc:  # the handler's failure is the invocation's result
        log_exception(exc)
        return "error", json.dumps(error_payload(exc, request_id)).encode()
    try:
        return "ok", json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        fault = RuntimeFault("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        payload = fault.as_payload()
        payload["requestId"] = request_id
        print(f"[ERROR] Runtime.MarshalError: {fault.message}", file=sys.stderr)
        return "error", json.dumps(payload).encode()


def respond(sock, request_id, status, payload):
    flush_output()
    header = {
        "kind": wire.RESULT,
        "request_id": request_id,
        "status": status,
        "rss_kb": max_rss_kb(),
    }
    sock.sendall(wire.encode(header, payload))


def frames(sock):
    """Invocation frames until the platform closes the socket."""
    while True:
        try:
            yield wire.read_frame(sock)
        except EOFError:
            return


def serve(sock, handler, function):
    """One invocation at a time, in this process."""
    for header, body in frames(sock):
        status, payload = invoke(handler, function, header, body)
        respond(sock, header["request_id"], status, payload)


def serve_snapshots(sock, handler, function):
    """Fork every invocation from this post-init state; the child exits when done."""
    for header, body in frames(sock):
        flush_output()
        child = os.fork()
        if child == 0:
            code = 1
            try:
                status, payload = invoke(handler, function, header, body)
                respond(sock, header["request_id"], status, payload)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                flush_output()
                os._exit(code)
        _, status = os.waitpid(child, 0)
        if status != 0:
            exit_status = os.waitstatus_to_exitcode(status)
            message = json.dumps({"exit_status": exit_status}).encode()
            respond(sock, header["request_id"], "exit", message)


def main(sock, log_fd, spec):
    """Entry point in the forked environment process; never returns."""
    code = 0
    try:
        warnings = prepare(log_fd, spec)
        handler = init(sock, spec, warnings)
        if handler is not None:
            if spec["function"].get("isolation") == "invocation":
                serve_snapshots(sock, handler, spec["function"])
            else:
                serve(sock, handler, spec["function"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # report, then die like a crashed runtime would
        print(f"[ERROR] runtime failure: {exc!r}", file=sys.stderr)
        code = 1
    finally:
        flush_output()
        os._exit(code)
