"""`nimbus logs`, `nimbus top` and `nimbus bill` against a real server."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from nimbus.cli.main import cli
from nimbus.metering.bill import Month
from nimbus.packaging import build_package

if TYPE_CHECKING:
    from conftest import NimbusServer

ROLE = "arn:aws:iam::000000000000:role/test"
SOURCE = "def handler(event, context):\n    print('order', event['n'])\n    return event['n']\n"


def run(server: NimbusServer, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=server.cli_env)


@pytest.fixture(scope="module")
def orders(nimbus_server: NimbusServer) -> list[str]:
    """Five invocations of a 512 MB function; their REPORT lines, as logged."""
    lam = nimbus_server.client("lambda")
    lam.create_function(
        FunctionName="orders", Runtime="python3.11", Role=ROLE, MemorySize=512,
        Handler="lambda_function.handler",
        Code={"ZipFile": build_package({"lambda_function.py": SOURCE})},
    )  # fmt: skip
    for n in range(5):
        assert (
            json.load(lam.invoke(FunctionName="orders", Payload=json.dumps({"n": n}))["Payload"])
            == n
        )
    logs = nimbus_server.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/orders", filterPattern="REPORT")
    return [e["message"] for e in events["events"]]


def test_logs_prints_the_functions_lines(nimbus_server: NimbusServer, orders: list[str]) -> None:
    result = run(nimbus_server, "logs", "orders", "--since", "1h")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(" ", 1)[1] for line in lines if " order " in line] == [
        f"order {n}" for n in range(5)
    ]
    assert sum("REPORT RequestId: " in line for line in lines) == 5
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z START RequestId: ", lines[0])
    filtered = run(nimbus_server, "logs", "orders", "--filter", '"order 3"')
    assert [line.split(" ", 1)[1] for line in filtered.output.splitlines()] == ["order 3"]


def test_logs_errors_are_one_line(nimbus_server: NimbusServer) -> None:
    missing = run(nimbus_server, "logs", "no-such-function")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (
        "error: ResourceNotFoundException: The specified log group does not exist."
    )
    bad = run(nimbus_server, "logs", "orders", "--since", "yesterday-ish")
    assert bad.exit_code == 1 and "invalid --since" in bad.stderr


def test_bill_matches_the_report_lines(nimbus_server: NimbusServer, orders: list[str]) -> None:
    result = run(nimbus_server, "bill", "--json")
    assert result.exit_code == 0, result.output
    bill = json.loads(result.output)
    line = next(item for item in bill["functions"] if item["function"] == "orders")
    assert line["requests"] == 5
    billed_ms = [int(re.search(r"Billed Duration: (\d+) ms", r).group(1)) for r in orders]  # type: ignore[union-attr]
    expected = Decimal(512) / 1024 * sum(billed_ms) / 1000
    assert Decimal(line["gbSeconds"]) == expected
    assert Decimal(line["requestCost"]) == Decimal("0.0000002") * 5
    assert bill["totalRounded"] == "0.00"  # all inside the free tier
    assert Decimal(bill["freeTier"]["gbSeconds"]) == Decimal(bill["usage"]["gbSeconds"])


def test_bill_table_and_instance_comparison(nimbus_server: NimbusServer, orders: list[str]) -> None:
    # The month the invocations were billed in, read from the server's own bill, so the
    # expectation follows whichever clock the server runs on.
    month = Month.parse(json.loads(run(nimbus_server, "bill", "--json").output)["month"])
    result = run(nimbus_server, "bill", "--month", str(month), "--compare-instance", "2vCPU-4GB")
    assert result.exit_code == 0, result.output
    assert "orders" in result.output and "free tier" in result.output
    cost = (Decimal("0.0416") * month.hours).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert (
        f"An always-on 2vCPU-4GB server for {month} ({month.hours} h x $0.0416/h) costs ${cost}"
        in " ".join(result.output.split())
    )


def test_bill_bad_input_is_one_line(nimbus_server: NimbusServer) -> None:
    month = run(nimbus_server, "bill", "--month", "2026-13")
    assert month.exit_code == 1 and month.stderr.startswith("error: ValidationException: ")
    instance = run(nimbus_server, "bill", "--compare-instance", "128vCPU")
    assert instance.exit_code == 1 and "2vCPU-4GB" in instance.stderr


def test_top_once_shows_the_function(nimbus_server: NimbusServer, orders: list[str]) -> None:
    result = run(nimbus_server, "top", "--once", "--minutes", "10")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "orders" in line)
    cells = row.split()
    assert cells[0] == "orders" and cells[2] == "5" and cells[3] == "0"  # inv, err
