"""The EventBridge router: pattern matching, PutEvents to a warm function, PutEvents/s.

1. matching, in-process, one core: 1,000 rules of varied realistic patterns (source and
   detail-type exact, prefixes, numeric ranges, anything-but, nested detail fields, cidr,
   a few `$or`, a few rules with no exact value at all) and a stream of 2,000 varied
   events (sources drawn with a skew, so some events match several rules and most match
   few). Events/s through `RuleIndex.matching` (what `EventRouter._route` calls per
   event) against the reference interpreter of tests/unit/events/pattern_reference.py
   trying every rule's pattern on every event, in interleaved rounds; beside them, every
   compiled pattern tried on every event (compilation without the index). The first 300
   events' matched rules are checked equal on both paths before timing.
2. PutEvents -> warm function: one nimbus server; a rule whose target is a function
   (1,769 MB) that sends the event's key to a reply queue the bench long-polls. Clock
   from before PutEvents to ReceiveMessage returning the key; baseline: the same handler
   through `lambda.invoke(InvocationType="Event")`, timed the same way, interleaved
   sample by sample.
3. PutEvents/s: boto3 threads each sending PutEvents of 10 entries to a bus with one rule
   (SQS queue target) for a few seconds; accepted entries/s. nimbus commits each accepted
   event with its delivery rows before answering. Peer: moto_server's events (in memory),
   same code, interleaved rounds.

Goals (issue): matching >= 50,000 events/s and >= 10x the naive reference; PutEvents ->
warm function p50 <= 10 ms; PutEvents >= 5,000 accepted events/s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import benchlib as b

# the reference is a test oracle; this script borrows it from where the tests keep it
sys.path.insert(0, str(b.ROOT / "tests" / "unit" / "events"))
from pattern_reference import reference_matches

from nimbus.events.model import Rule, RuleState
from nimbus.events.pattern import compile_pattern
from nimbus.events.rule_index import RuleIndex

GOAL_RATE = 50_000.0
GOAL_RATIO = 10.0
GOAL_P50_MS = 10.0
GOAL_PUT_RATE = 5_000.0
RULES = 1_000
EVENTS = 2_000
CHECKED = 300  # events whose matched rules are compared on both paths (the naive one is slow)
ACCOUNT = "000000000000"
SOURCES = [f"com.shop.{name}" for name in ("orders", "payments", "shipping", "catalog",
           "users", "reviews", "search", "cart", "returns", "coupons")] + [
    f"aws.{svc}" for svc in ("ec2", "s3", "lambda", "rds", "ecs", "sqs", "dynamodb",
                             "cloudwatch", "autoscaling", "codebuild")] + [
    f"partner.{n}" for n in range(180)]  # fmt: skip
# Zipf (s = 1): the first source carries ~17 % of the events, the first ten ~50 %
SOURCE_WEIGHTS = [1 / (rank + 1) for rank in range(len(SOURCES))]
DETAIL_TYPES = [f"{noun} {verb}" for noun in ("Order", "Payment", "Object", "Instance",
                "Build", "Task", "User", "Alarm", "Invoice", "Shipment", "Review", "Coupon",
                "Cart", "Refund", "Deployment", "Backup") for verb in ("Created", "Updated",
                "Deleted", "State Change", "Failed", "Completed")]  # fmt: skip
STATES = ("pending", "running", "stopped", "terminated", "failed", "succeeded")
REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
TIERS = ("bronze", "silver", "gold", "platinum")


# -- 1. matching --------------------------------------------------------------------------


Pattern = dict[str, Any]
Shape = Callable[[random.Random, str, str], Pattern]


def _range(rng: random.Random, source: str, detail_type: str) -> Pattern:
    low = rng.randint(0, 500)
    between = [">", low, "<=", low + rng.randint(10, 500)]
    return {"source": [source], "detail": {"amount": [{"numeric": between}]}}


# (share of the rules in twentieths, shape): the mix a busy bus might carry
SHAPES: list[tuple[int, Shape]] = [
    (5, lambda rng, s, t: {"source": [s], "detail-type": [t]}),
    (2, lambda rng, s, t: {"source": [s]}),
    (2, lambda rng, s, t: {"source": [s],
                           "detail": {"state": [{"anything-but": ["stopped", "pending"]}]}}),
    (2, _range),
    (2, lambda rng, s, t: {"source": [{"prefix": "com.shop."}], "detail-type": [t],
                           "detail": {"customer": {"tier": rng.sample(TIERS, 2)}}}),
    (2, lambda rng, s, t: {"detail-type": [t], "detail": {
        "region": [rng.choice(REGIONS)], "state": [{"prefix": "run"}, "succeeded"]}}),
    (1, lambda rng, s, t: {"source": [s], "resources": [{"prefix": "arn:aws:s3:::bucket-"}],
                           "detail": {"object": {"size": [{"numeric": [">=", 1024]}]}}}),
    (1, lambda rng, s, t: {"source": [s],
                           "detail": {"client": {"ip": [{"cidr": "10.0.0.0/8"}]}}}),
    (1, lambda rng, s, t: {"source": [s], "$or": [
        {"detail": {"region": ["eu-west-1"]}},
        {"detail": {"amount": [{"numeric": [">=", 900]}]}}]}),
    (1, lambda rng, s, t: {"source": [s], "detail": {
        "items": {"sku": [{"prefix": "SKU-1"}]}, "flags": {"test": [{"exists": False}]}}}),
    (1, lambda rng, s, t: {"source": [s, rng.choice(SOURCES)],
                           "detail-type": [{"anything-but": {"suffix": "Deleted"}}],
                           "detail": {"state": [{"exists": True}]}}),
]  # fmt: skip
SHAPE_CYCLE = [shape for share, shape in SHAPES for _ in range(share)]


def rule_pattern(rng: random.Random, n: int) -> Pattern:
    """The n-th rule's pattern; one rule in a hundred has no exact value to be indexed by."""
    source, detail_type = rng.choice(SOURCES), rng.choice(DETAIL_TYPES)
    if n % 100 == 99:
        return {"detail": {"amount": [{"numeric": [">", rng.randint(9_000, 10_000)]}]}}
    return SHAPE_CYCLE[n % len(SHAPE_CYCLE)](rng, source, detail_type)


def make_event(rng: random.Random, n: int) -> dict[str, Any]:
    """An envelope as the router sees it (decoded); its source drawn with a Zipf skew."""
    source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
    detail: dict[str, Any] = {
        "state": rng.choice(STATES),
        "amount": rng.choice([rng.randint(0, 1_000), round(rng.uniform(0, 1_000), 2)]),
        "region": rng.choice(REGIONS),
        "customer": {"id": f"c-{rng.randint(1, 10**6)}", "tier": rng.choice(TIERS)},
        "client": {"ip": f"{rng.choice((10, 192))}.{rng.randint(0, 255)}.0.{rng.randint(1, 254)}"},
        "items": [{"sku": f"SKU-{rng.randint(1, 999)}", "qty": rng.randint(1, 5)}
                  for _ in range(rng.randint(0, 3))],
        "object": {"key": f"photos/{n}.jpg", "size": rng.randint(0, 4096)},
        "note": "x" * rng.randint(0, 200),
    }  # fmt: skip
    if rng.random() < 0.1:
        detail["flags"] = {"test": True}
    return {
        "version": "0", "id": f"00000000-0000-4000-8000-{n:012d}",
        "detail-type": rng.choice(DETAIL_TYPES), "source": source, "account": ACCOUNT,
        "time": "2026-12-05T10:00:00Z", "region": "us-east-1",
        "resources": [f"arn:aws:s3:::bucket-{rng.randint(1, 9)}"], "detail": detail,
    }  # fmt: skip


def build_rules(seed: int) -> tuple[list[Rule], list[dict[str, Any]]]:
    rng = random.Random(seed)
    rules, documents = [], []
    for n in range(RULES):
        document = rule_pattern(rng, n)
        arn = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/bench/r{n}"
        pattern = compile_pattern(json.dumps(document))
        rules.append(Rule("bench", f"r{n}", arn, RuleState.ENABLED, pattern, None, None, None,
                          0.0))  # fmt: skip
        documents.append(document)
    return rules, documents


def rate(work: Callable[[dict[str, Any]], object], events: list[dict[str, Any]],
         seconds: float) -> float:  # fmt: skip
    """Events/s of `work` cycling through `events` for about `seconds`."""
    done = 0
    started = time.perf_counter()
    while True:
        for event in events:
            work(event)
        done += len(events)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def matching(rounds: int, seconds: float) -> dict[str, Any]:
    rules, documents = build_rules(seed=7)
    events = [make_event(random.Random(n), n) for n in range(EVENTS)]
    index = RuleIndex(rules)
    patterns = [rule.pattern for rule in rules if rule.pattern is not None]
    matched = []
    for event in events[:CHECKED]:  # the two paths must agree before either is timed
        fast = [rule.name for rule in index.matching(event)]
        slow = [rule.name for rule, doc in zip(rules, documents, strict=True)
                if reference_matches(doc, event)]  # fmt: skip
        if fast != slow:
            raise AssertionError(f"index {fast} != reference {slow} for {event}")
        matched.append(len(fast))

    def naive(event: dict[str, Any]) -> object:
        return [doc for doc in documents if reference_matches(doc, event)]

    def unindexed(event: dict[str, Any]) -> object:
        return [p for p in patterns if p.matches(event)]

    got: dict[str, list[float]] = {"index": [], "naive": [], "unindexed": []}
    for _ in range(rounds):  # interleaved: the machine's noise hits every path alike
        got["index"].append(rate(index.matching, events, seconds))
        got["naive"].append(rate(naive, events[:100], seconds))
        got["unindexed"].append(rate(unindexed, events[:200], seconds))
    return {
        "rates": {name: sorted(values)[len(values) // 2] for name, values in got.items()},
        "matched_mean": sum(matched) / len(matched),
        "matched_max": max(matched),
        "matched_none": sum(1 for m in matched if m == 0) / len(matched),
        "or_rules": sum(1 for d in documents if "$or" in d),
    }


# -- 2 and 3. a server --------------------------------------------------------------------

HANDLER = (
    "import os, boto3\n"
    "replies = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    replies.send_message(QueueUrl=os.environ['REPLY_URL'],\n"
    "                         MessageBody=event['detail']['key'])\n"
)


def client(service: str, url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service, endpoint_url=url, region_name=b.REGION, aws_access_key_id=b.ACCESS_KEY,
        aws_secret_access_key=b.SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4),
    )  # fmt: skip


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def await_key(sqs: Any, queue: str, key: str) -> None:
    while True:
        reply = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
        for message in reply.get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            if message["Body"] == key:
                return
        # anything else repeats an earlier sample (delivery is at least once): skip it


def latency(url: str, count: int) -> dict[str, dict[str, float]]:
    events, sqs, lam = client("events", url), client("sqs", url), b.lambda_client(url)
    replies = sqs.create_queue(QueueName="replies")["QueueUrl"]
    b.create_function(lam, "reply", b.build_zip(HANDLER), {"REPLY_URL": replies}, memory=1769)
    arn = lam.get_function(FunctionName="reply")["Configuration"]["FunctionArn"]
    events.put_rule(Name="to-function", EventPattern=json.dumps({"source": ["bench.latency"]}))
    events.put_targets(Rule="to-function", Targets=[{"Id": "fn", "Arn": arn}])
    serial = 0

    def put_events() -> tuple[float, float]:
        nonlocal serial
        serial += 1
        key = f"event-{serial}"
        entry = {"Source": "bench.latency", "DetailType": "t", "Detail": json.dumps({"key": key})}
        sent = time.perf_counter()
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        responded = time.perf_counter()
        await_key(sqs, replies, key)
        return time.perf_counter() - sent, time.perf_counter() - responded

    def invoke() -> tuple[float, float]:
        nonlocal serial
        serial += 1
        key = f"invoke-{serial}"
        sent = time.perf_counter()
        payload = json.dumps({"detail": {"key": key}})
        lam.invoke(FunctionName="reply", InvocationType="Event", Payload=payload)
        responded = time.perf_counter()
        await_key(sqs, replies, key)
        return time.perf_counter() - sent, time.perf_counter() - responded

    paths = {"put_events": put_events, "invoke": invoke}
    for take in paths.values():
        for _ in range(10):
            take()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for _ in range(count):
        for name, take in paths.items():
            samples[name].append(take())
    return {
        f"{name}_{part}": b.summary(b.ms([s[i] for s in taken]))
        for name, taken in samples.items()
        for i, part in enumerate(("from_request", "from_response"))
    }


def prepare_throughput(url: str) -> None:
    """A bus `ingest` whose one rule sends every `bench.load` event to a queue."""
    events, sqs = client("events", url), client("sqs", url)
    sink = sqs.create_queue(QueueName="sink")["QueueUrl"]
    events.create_event_bus(Name="ingest")
    events.put_rule(Name="all", EventBusName="ingest",
                    EventPattern=json.dumps({"source": ["bench.load"]}))  # fmt: skip
    events.put_targets(Rule="all", EventBusName="ingest",
                       Targets=[{"Id": "sink", "Arn": queue_arn(sqs, sink)}])  # fmt: skip


def throughput(url: str, threads: int, seconds: float) -> float:
    """Accepted entries/s of `threads` boto3 clients sending PutEvents of 10 entries."""
    clients = [client("events", url) for _ in range(threads)]
    entries = [{"Source": "bench.load", "DetailType": "load", "EventBusName": "ingest",
                "Detail": json.dumps({"n": n, "pad": "x" * 200})} for n in range(10)]  # fmt: skip
    for events in clients:  # connections opened before the clock starts
        events.put_events(Entries=entries)
    accepted = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def send(slot: int) -> None:
        events = clients[slot]
        start.wait()
        while time.perf_counter() < deadline:
            reply = events.put_events(Entries=entries)
            accepted[slot] += len(entries) - reply["FailedEntryCount"]

    workers = [threading.Thread(target=send, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    return sum(accepted) / (time.perf_counter() - started)


def throughputs(nimbus: str, moto: str | None, threads: int, seconds: float,
                rounds: int) -> dict[str, float]:  # fmt: skip
    got: dict[str, list[float]] = {"nimbus": [], "moto": []}
    for _ in range(rounds):
        got["nimbus"].append(throughput(nimbus, threads, seconds))
        if moto is not None:
            got["moto"].append(throughput(moto, threads, seconds))
    return {name: sorted(v)[len(v) // 2] for name, v in got.items() if v}


# -- report -------------------------------------------------------------------------------


def report_matching(report: b.Report, got: dict[str, Any]) -> None:
    rates = got["rates"]
    index, naive, unindexed = rates["index"], rates["naive"], rates["unindexed"]
    report.row("matching, 1,000 rules: events/s on one core (vs naive reference)",
               f"{index:,.0f}/s", f"{naive:,.0f}/s", b.ratio(index, naive))  # fmt: skip
    report.row("  compiled patterns without the index (vs naive reference)",
               f"{unindexed:,.0f}/s", f"{naive:,.0f}/s", b.ratio(unindexed, naive))  # fmt: skip
    report.row("  rules matched per event: mean / max / share matching none",
               f"{got['matched_mean']:.2f} / {got['matched_max']} / "
               f"{got['matched_none']:.0%}")  # fmt: skip
    report.goals.append(b.Goal("matching events/s, 1,000 rules, one core", index, GOAL_RATE,
                               "events/s", op=">="))  # fmt: skip
    report.goals.append(b.Goal("matching rate / naive reference", index / naive, GOAL_RATIO,
                               "x", op=">="))  # fmt: skip


def report_latency(report: b.Report, got: dict[str, dict[str, float]]) -> None:
    for q in ("p50", "p90"):
        report.compare(
            f"PutEvents request -> key at client, {q} (vs Event invoke)",
            got["put_events_from_request"][q],
            got["invoke_from_request"][q],
        )
    report.compare("  from the response, p50 (vs Event invoke's 202)",
                   got["put_events_from_response"]["p50"],
                   got["invoke_from_response"]["p50"])  # fmt: skip
    p50 = got["put_events_from_request"]["p50"]
    report.goals.append(b.Goal("PutEvents -> warm function p50", p50, GOAL_P50_MS, "ms"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--seconds", type=float, default=1.5, help="per matching round")
    parser.add_argument("--count", type=int, default=150, help="latency samples per path")
    parser.add_argument("--threads", type=int, default=4, help="PutEvents client threads")
    parser.add_argument("--put-seconds", type=float, default=3.0, help="per throughput round")
    args = parser.parse_args()
    report = b.Report("events_router")
    matched = matching(args.rounds, args.seconds)
    report_matching(report, matched)
    with b.NimbusServer() as server:
        waited = latency(server.url, args.count)
        prepare_throughput(server.url)
        try:
            import moto  # noqa: F401  (the bench extra)
        except ImportError:
            report.notes.append("moto not measured: pip install -e '.[bench]'")
            put = throughputs(server.url, None, args.threads, args.put_seconds, args.rounds)
        else:
            with b.MotoServer() as moto_server:
                prepare_throughput(moto_server.url)
                put = throughputs(server.url, moto_server.url, args.threads, args.put_seconds,
                                  args.rounds)  # fmt: skip
    report_latency(report, waited)
    report.row(f"PutEvents accepted events/s, {args.threads} threads x 10 entries (vs moto)",
               f"{put['nimbus']:,.0f}/s", f"{put['moto']:,.0f}/s" if "moto" in put else "",
               b.ratio(put["nimbus"], put["moto"]) if "moto" in put else "")  # fmt: skip
    report.goals.append(b.Goal("PutEvents accepted events/s", put["nimbus"], GOAL_PUT_RATE,
                               "events/s", op=">="))  # fmt: skip
    report.figures = {"matching": matched, "latency": waited, "put_events": put}
    report.notes.append(
        f"matching: median of {args.rounds} interleaved rounds of {args.seconds} s per path, "
        f"{RULES} rules ({matched['or_rules']} with $or), {EVENTS} distinct events (the naive "
        f"path cycles through the first 100, the unindexed one the first 200); latency: "
        f"{args.count} sequential samples per path after 10 warm-up ones, interleaved; "
        f"throughput: median of {args.rounds} rounds of {args.put_seconds} s, alternating "
        f"with moto; one client process on the same 2 CPUs as the servers"
    )
    report.emit()


if __name__ == "__main__":
    main()
