"""The example function `make run` deploys: greets the caller and shows its environment."""

import os
import platform


def handler(event, context):
    name = (event or {}).get("name", "world")
    print(f"saying hello to {name}")
    return {
        "message": f"Hello, {name}!",
        "function": context.function_name,
        "request_id": context.aws_request_id,
        "python": platform.python_version(),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "region": os.environ["AWS_REGION"],
    }
