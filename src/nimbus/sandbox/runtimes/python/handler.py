"""Load a Lambda handler the way the AWS Python runtime does, with its error types."""

import importlib
import sys
import traceback


class RuntimeFault(Exception):
    """An error of the runtime itself, reported with a `Runtime.*` error type."""

    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []

    def as_payload(self):
        return {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "requestId": "",
            "stackTrace": self.stack,
        }


def load_handler(spec):
    """Resolve `path/to/module.function` into a callable, importing the module (init)."""
    try:
        module_path, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise RuntimeFault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise RuntimeFault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            user_stack(exc),
        ) from None
    except Exception as exc:  # any import-time failure is the function's init error
        if isinstance(exc, ModuleNotFoundError) and exc.name == module_name.split(".")[0]:
            stack = []
        else:
            stack = user_stack(exc)
        raise RuntimeFault(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            stack,
        ) from None
    handler = getattr(module, function_name, None)
    if handler is None or not callable(handler):
        raise RuntimeFault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler


def user_stack(exc):
    """Formatted frames of an exception, without the runtime's own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(RUNTIME_DIR)
        and "importlib._bootstrap" not in frame.filename
    ]
    return traceback.format_list(frames)


def error_payload(exc, request_id):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": user_stack(exc),
    }


def log_exception(exc, stream=None):
    """Write the `[ERROR] Type: message` block Lambda logs for an unhandled exception."""
    stream = stream or sys.stderr
    lines = [f"[ERROR] {type(exc).__name__}: {exc}", "Traceback (most recent call last):"]
    lines.extend(frame.rstrip("\n") for frame in user_stack(exc))
    stream.write("\n".join(lines) + "\n")


RUNTIME_DIR = __file__.rsplit("/", 1)[0]
