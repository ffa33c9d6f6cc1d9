"""Execution environments through the in-process Platform API: results, failures, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from nimbus.errors import TooManyRequests
from nimbus.functions.invoke import InvokeRequest, InvokeResult
from nimbus.functions.registry import ConfigChanges
from nimbus.packaging import build_package
from nimbus.platform import Platform
from nimbus.settings import Settings

ROLE = "arn:aws:iam::000000000000:role/test"
RUNTIME = "python3.11"

Scenario = Callable[[Platform], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, **settings: Any) -> None:
    async def main() -> None:
        platform = Platform(Settings(data_dir=tmp_path / "data", **settings))
        await platform.start()
        try:
            await scenario(platform)
        finally:
            await platform.stop()

    asyncio.run(main())


def deploy(platform: Platform, name: str, source: str, **config: Any) -> None:
    changes = ConfigChanges(runtime=RUNTIME, handler="lambda_function.handler", role=ROLE, **config)
    platform.functions.create(name, changes, build_package({"lambda_function.py": source}))


async def call(platform: Platform, name: str, event: Any = None) -> InvokeResult:
    payload = json.dumps(event if event is not None else {}).encode()
    return await platform.functions.invoke(InvokeRequest(function=name, payload=payload))


def body(result: InvokeResult) -> Any:
    return json.loads(result.payload)


def test_result_context_and_environment(tmp_path: Path) -> None:
    source = (
        "import os\n"
        "def handler(event, context):\n"
        "    print('hello from', context.function_name)\n"
        "    return {'event': event, 'name': context.function_name,\n"
        "            'memory': context.memory_limit_in_mb, 'arn': context.invoked_function_arn,\n"
        "            'remaining': context.get_remaining_time_in_millis(),\n"
        "            'request': context.aws_request_id,\n"
        "            'env': {k: os.environ.get(k) for k in ('AWS_LAMBDA_FUNCTION_NAME', '_HANDLER',\n"
        "                    'AWS_REGION', 'LAMBDA_TASK_ROOT', 'MY_VAR', 'AWS_LAMBDA_LOG_STREAM_NAME')}}\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "ctx", source, environment={"MY_VAR": "42"}, memory_size=256)
        result = await call(platform, "ctx", {"a": 1})
        assert result.function_error is None
        answer = body(result)
        assert answer["event"] == {"a": 1}
        assert answer["memory"] == "256"
        assert answer["arn"].endswith(":function:ctx")
        assert 0 < answer["remaining"] <= 3000
        assert answer["request"] == result.request_id
        env = answer["env"]
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ctx"
        assert env["_HANDLER"] == "lambda_function.handler"
        assert env["MY_VAR"] == "42"
        assert env["AWS_REGION"] == "us-east-1"
        assert env["AWS_LAMBDA_LOG_STREAM_NAME"].split("]")[0].endswith("[$LATEST")

    run(tmp_path, scenario)


def test_unhandled_exception_then_recovery(tmp_path: Path) -> None:
    source = (
        "def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise KeyError('action')\n"
        "    return 'fine'\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "boom", source)
        failed = await call(platform, "boom", {"fail": True})
        assert failed.function_error == "Unhandled"
        error = body(failed)
        assert error["errorType"] == "KeyError"
        assert error["errorMessage"] == "'action'"
        assert error["requestId"] == failed.request_id
        assert any("lambda_function.py" in frame for frame in error["stackTrace"])
        assert body(await call(platform, "boom")) == "fine"

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"other.py": "x = 1"}, "lambda_function.handler", "Runtime.ImportModuleError",
         "Unable to import module 'lambda_function': No module named 'lambda_function'"),
        ({"lambda_function.py": "x = 1"}, "lambda_function.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module 'lambda_function'"),
        ({"lambda_function.py": "def handler(:"}, "lambda_function.handler",
         "Runtime.UserCodeSyntaxError", "Syntax error in module 'lambda_function'"),
    ],
)  # fmt: skip
def test_init_errors(
    tmp_path: Path, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    async def scenario(platform: Platform) -> None:
        changes = ConfigChanges(runtime=RUNTIME, handler=handler, role=ROLE)
        platform.functions.create("broken", changes, build_package(files))
        for _ in range(2):  # the next invocation retries init and fails the same way
            result = await call(platform, "broken")
            assert result.function_error == "Unhandled"
            assert body(result)["errorType"] == error_type
            assert body(result)["errorMessage"].startswith(message)

    run(tmp_path, scenario)


def test_marshal_error(tmp_path: Path) -> None:
    async def scenario(platform: Platform) -> None:
        deploy(platform, "sets", "def handler(e, c):\n    return {1, 2}\n")
        result = await call(platform, "sets")
        assert body(result)["errorType"] == "Runtime.MarshalError"
        assert (
            "Unable to marshal response: Object of type set is not JSON serializable"
            in (body(result)["errorMessage"])
        )

    run(tmp_path, scenario)


def test_timeout_kills_and_next_invocation_works(tmp_path: Path) -> None:
    source = (
        "import time\n"
        "def handler(event, context):\n"
        "    if event.get('sleep'):\n"
        "        time.sleep(30)\n"
        "    return 'awake'\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "sleepy", source, timeout=1)
        result = await call(platform, "sleepy", {"sleep": True})
        assert result.function_error == "Unhandled"
        assert body(result) == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
        }
        assert body(await call(platform, "sleepy")) == "awake"

    run(tmp_path, scenario)


def test_exit_error(tmp_path: Path) -> None:
    source = "import sys\ndef handler(event, context):\n    sys.exit(3)\n"

    async def scenario(platform: Platform) -> None:
        deploy(platform, "quitter", source)
        result = await call(platform, "quitter")
        assert body(result) == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: "
            "exit status 3",
        }

    run(tmp_path, scenario)


def test_memory_limit_kills_only_that_environment(tmp_path: Path) -> None:
    source = (
        "def handler(event, context):\n"
        "    if event.get('hog'):\n"
        "        hog = bytearray(400 * 1024 * 1024)\n"
        "        return len(hog)\n"
        "    return 'small'\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "hog", source, memory_size=128)
        deploy(platform, "bystander", "def handler(e, c):\n    return 'ok'\n")
        result = await call(platform, "hog", {"hog": True})
        assert result.function_error == "Unhandled"
        assert body(result)["errorType"] in ("Runtime.OutOfMemory", "MemoryError")
        assert body(await call(platform, "hog")) == "small"
        assert body(await call(platform, "bystander")) == "ok"

    run(tmp_path, scenario)


def test_warm_reuse_and_parallel_environments(tmp_path: Path) -> None:
    source = (
        "import os, time\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    return os.getpid()\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "pids", source)
        first = body(await call(platform, "pids"))
        assert body(await call(platform, "pids")) == first  # warm reuse
        results = await asyncio.gather(*(call(platform, "pids", {"sleep": 0.5}) for _ in range(4)))
        assert len({body(result) for result in results}) == 4  # one environment each

    run(tmp_path, scenario)


def test_isolation_per_invocation_forks_fresh_state(tmp_path: Path) -> None:
    source = (
        "import os\n"
        "COUNT = []\n"
        "def handler(event, context):\n"
        "    COUNT.append(1)\n"
        "    return [len(COUNT), os.getpid()]\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "fresh", source, environment={"NIMBUS_ISOLATION": "invocation"})
        deploy(platform, "reused", source)
        fresh = [body(await call(platform, "fresh")) for _ in range(3)]
        assert [count for count, _ in fresh] == [1, 1, 1]
        assert len({pid for _, pid in fresh}) == 3
        reused = [body(await call(platform, "reused")) for _ in range(3)]
        assert [count for count, _ in reused] == [1, 2, 3]

    run(tmp_path, scenario)


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for a state the platform reaches on its own (checked each 10 ms)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


# Handlers that hold their concurrency until the test has seen the throttle.
HOLDING = "import time\ndef handler(e, c):\n    time.sleep(2)\n    return 1\n"


def test_reserved_concurrency_throttles(tmp_path: Path) -> None:
    async def scenario(platform: Platform) -> None:
        deploy(platform, "narrow", HOLDING)
        platform.functions.put_reserved_concurrency("narrow", 1)
        first = asyncio.create_task(call(platform, "narrow"))
        await until(lambda: platform.limiter.running("narrow") == 1)
        with pytest.raises(TooManyRequests) as throttled:
            await call(platform, "narrow")
        assert throttled.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert (await first).function_error is None
        platform.functions.put_reserved_concurrency("narrow", 0)
        with pytest.raises(TooManyRequests):
            await call(platform, "narrow")

    run(tmp_path, scenario)


def test_account_limit_throttles(tmp_path: Path) -> None:
    async def scenario(platform: Platform) -> None:
        deploy(platform, "wide", HOLDING)
        running = [asyncio.create_task(call(platform, "wide")) for _ in range(2)]
        await until(lambda: platform.limiter.running("wide") == 2)
        with pytest.raises(TooManyRequests) as throttled:
            await call(platform, "wide")
        assert throttled.value.reason == "ConcurrentInvocationLimitExceeded"
        await asyncio.gather(*running)

    run(tmp_path, scenario, account_concurrency=2, unreserved_concurrency_minimum=0)


def test_idle_environments_are_reaped(tmp_path: Path) -> None:
    async def scenario(platform: Platform) -> None:
        deploy(platform, "idle", "def handler(e, c):\n    return 1\n")
        await call(platform, "idle")
        assert platform.executor.stats().warm == 1
        await until(lambda: platform.executor.stats().warm == 0)

    run(tmp_path, scenario, keep_warm_seconds=0.2)


def test_logs_are_captured_with_report(tmp_path: Path) -> None:
    source = (
        "import logging, sys\n"
        "def handler(e, c):\n"
        "    print('to stdout')\n"
        "    print('to stderr', file=sys.stderr)\n"
        "    logging.getLogger().warning('via logging')\n"
        "    return 1\n"
    )

    async def scenario(platform: Platform) -> None:
        deploy(platform, "chatty", source)
        reply = await call(platform, "chatty")
        request_id = reply.request_id
        page = platform.logs.filter_log_events(
            "/aws/lambda/chatty", None, None, None, None, None, None, None
        )
        text = "".join(event.message for event in page.events)
        assert text.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
        assert "to stdout\n" in text and "to stderr\n" in text
        assert "[WARNING]\t" in text and f"\t{request_id}\tvia logging" in text
        assert "\nEND RequestId: " in text
        report = text.splitlines()[-1]
        assert report.startswith("REPORT RequestId: ")
        assert "\tMemory Size: 128 MB\t" in report and "\tInit Duration: " in report

    run(tmp_path, scenario)
