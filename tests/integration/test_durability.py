"""What the platform acknowledged survives kill -9; SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request
from pathlib import Path

from conftest import running_server, start, stop

from nimbus.packaging import build_package

ROLE = "arn:aws:iam::000000000000:role/test"


def test_functions_and_code_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start(data)
    try:
        lam = server.client("lambda")
        for index in range(3):
            source = f"def handler(e, c):\n    return {index}\n"
            lam.create_function(
                FunctionName=f"durable-{index}", Runtime="python3.11", Role=ROLE,
                Handler="lambda_function.handler",
                Code={"ZipFile": build_package({"lambda_function.py": source})},
            )  # fmt: skip
        lam.put_function_concurrency(FunctionName="durable-0", ReservedConcurrentExecutions=5)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
    finally:
        stop(server)
    with running_server(data) as restarted:
        lam = restarted.client("lambda")
        for index in range(3):
            reply = lam.invoke(FunctionName=f"durable-{index}")
            assert json.load(reply["Payload"]) == index
        concurrency = lam.get_function_concurrency(FunctionName="durable-0")
        assert concurrency["ReservedConcurrentExecutions"] == 5


def test_sigterm_lets_in_flight_invocations_finish(tmp_path: Path) -> None:
    server = start(tmp_path / "data")
    try:
        lam = server.client("lambda")
        source = "import time\ndef handler(e, c):\n    time.sleep(1)\n    return 'done'\n"
        lam.create_function(
            FunctionName="slow", Runtime="python3.11", Role=ROLE,
            Handler="lambda_function.handler", Timeout=10,
            Code={"ZipFile": build_package({"lambda_function.py": source})},
        )  # fmt: skip
        answers: list[object] = []

        def call() -> None:
            answers.append(json.load(lam.invoke(FunctionName="slow")["Payload"]))

        caller = threading.Thread(target=call)
        caller.start()
        threading.Event().wait(0.4)
        server.process.send_signal(signal.SIGTERM)
        caller.join(30)
        assert answers == ["done"]
        assert server.process.wait(30) == 0
    finally:
        stop(server)


def test_every_answered_invocation_is_billed_once_after_kill_9(tmp_path: Path) -> None:
    from collections import Counter

    from botocore.exceptions import BotoCoreError, ClientError

    from nimbus.metering.ledger import UsageLedger

    data = tmp_path / "data"
    server = start(data)
    answered: list[str] = []
    try:
        lam = server.client("lambda")
        lam.create_function(
            FunctionName="metered", Runtime="python3.11", Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": build_package({"lambda_function.py": "def handler(e, c):\n    return 1\n"})},
        )  # fmt: skip
        enough = threading.Event()

        def load() -> None:
            client = server.client("lambda")
            while True:
                try:
                    reply = client.invoke(FunctionName="metered")
                    reply["Payload"].read()
                except (BotoCoreError, ClientError):
                    return  # the server is gone
                answered.append(reply["ResponseMetadata"]["RequestId"])
                if len(answered) >= 150:
                    enough.set()

        callers = [threading.Thread(target=load) for _ in range(4)]
        for caller in callers:
            caller.start()
        assert enough.wait(60), "the load never got going"
        os.killpg(server.process.pid, signal.SIGKILL)  # mid-load, invocations in flight
        server.process.wait()
        for caller in callers:
            caller.join(30)
    finally:
        stop(server)
    ledger = UsageLedger(data / "usage.db")
    try:
        billed = Counter(record.request_id for record in ledger.records())
    finally:
        ledger.close()
    assert not [rid for rid in answered if billed[rid] != 1], "answered but not billed once"
    assert max(billed.values()) == 1
    with running_server(data) as restarted:
        reply = urllib.request.urlopen(restarted.endpoint + "/_nimbus/bill", timeout=10)
        bill = json.load(reply)
    lines = [line for line in bill["functions"] if line["function"] == "metered"]
    assert sum(line["requests"] for line in lines) == sum(billed.values())
