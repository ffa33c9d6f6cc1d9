"""S3 objects through boto3: small PutObject+GetObject pairs and one large transfer.

Peers in the same run: `python -m nimbus server` and `python -m moto.server` (moto's
standalone server, which keeps object bytes in memory), both subprocesses on free ports,
plus a bare baseline for the large object: one Python process writing the same bytes to a
local file (write + fsync, as nimbus fsyncs every blob) and reading them back, and (for
the download, which writes the file it receives) copying them to a new file without fsync.

Small objects: 8 client threads, one boto3 client each, each looping PutObject of a new
1 KB key then GetObject of it for a fixed time; a put+get pair is one operation. Large
object: `upload_file` then `download_file` of one file of random bytes with s3transfer's
defaults (multipart above 8 MB, 8 MB parts, 10 threads). Rounds alternate between the
peers (order flipped every round); the median round is reported.

Goals (issue): nimbus >= 1,000 put+get pairs/s with 8 clients; upload and download of
the large object each at >= 50% of the bare file's MB/s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib as b

CLIENTS = 8
SMALL_BYTES = 1024
CHUNK = 8 * 1024 * 1024
MB = 1024 * 1024
GOAL_PAIRS_PER_S = 1000.0
GOAL_SHARE_OF_BARE = 50.0
BUCKET = "bench-objects"


def s3_client(url: str, pool: int = 10) -> Any:
    """A boto3 S3 client for `url`: path-style, no retries (a failure is seen, not hidden)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1},
        max_pool_connections=pool,
        s3={"addressing_style": "path"},
        read_timeout=300,
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name=b.REGION, aws_access_key_id=b.ACCESS_KEY,
        aws_secret_access_key=b.SECRET_KEY, config=config,
    )  # fmt: skip


# -- small objects ------------------------------------------------------------------------


def put_get_until(client: Any, prefix: str, deadline: float) -> int:
    """PutObject a new key then GetObject it until `deadline`; returns the pairs done."""
    body = os.urandom(SMALL_BYTES)
    pairs = 0
    while time.perf_counter() < deadline:
        key = f"{prefix}/{pairs}"
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        got = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        if got != body:
            raise RuntimeError(f"GetObject {key}: {len(got)} bytes differ from those put")
        pairs += 1
    return pairs


def small_round(clients: list[Any], tag: str, seconds: float) -> float:
    """All clients put+get for `seconds` at once; pairs/s over the round's wall time."""
    counts = [0] * len(clients)
    errors: list[BaseException] = []
    start = threading.Barrier(len(clients) + 1)

    def work(index: int) -> None:
        start.wait()
        try:
            counts[index] = put_get_until(clients[index], f"{tag}/c{index}", deadline)
        except Exception as exc:  # re-raised below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def latencies(client: Any, count: int) -> tuple[list[float], list[float]]:
    """Seconds of `count` sequential PutObject and of the GetObject that follows each."""
    body = os.urandom(SMALL_BYTES)
    puts, gets = [], []
    for index in range(count):
        with b.stopwatch() as put:
            client.put_object(Bucket=BUCKET, Key=f"latency/{index}", Body=body)
        with b.stopwatch() as get:
            client.get_object(Bucket=BUCKET, Key=f"latency/{index}")["Body"].read()
        puts += put
        gets += get
    return puts, gets


# -- the large object ---------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    """Seconds of one upload and one download of the large object."""

    upload_s: float
    download_s: float
    copy_s: float = 0.0  # bare only: read + write a new file, no fsync (download_file's floor)


def write_random(path: Path, size: int) -> str:
    """`size` random bytes into `path`; returns their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for offset in range(0, size, CHUNK):
            chunk = os.urandom(min(CHUNK, size - offset))
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def s3_transfer(client: Any, source: Path, target: Path, key: str, expect: str | None) -> Transfer:
    """upload_file then download_file; checks the bytes when `expect` (a digest) is given."""
    with b.stopwatch() as up:
        client.upload_file(str(source), BUCKET, key)
    with b.stopwatch() as down:
        client.download_file(BUCKET, key, str(target))
    try:
        if expect is not None and sha256_of(target) != expect:
            raise RuntimeError(f"download_file {key}: bytes differ from those uploaded")
    finally:
        target.unlink(missing_ok=True)
        client.delete_object(Bucket=BUCKET, Key=key)
    return Transfer(up[0], down[0])


def bare_transfer(source: Path, target: Path) -> Transfer:
    """The same bytes written to a local file (+ fsync) and read back, in one process."""
    buffer = bytearray(CHUNK)
    with b.stopwatch() as up, source.open("rb") as reader, target.open("wb") as writer:
        while count := reader.readinto(buffer):
            writer.write(memoryview(buffer)[:count])
        writer.flush()
        os.fsync(writer.fileno())
    with b.stopwatch() as down, target.open("rb") as reader:
        while reader.readinto(buffer):
            pass
    target.unlink()
    with b.stopwatch() as copy, source.open("rb") as reader, target.open("wb") as writer:
        while count := reader.readinto(buffer):
            writer.write(memoryview(buffer)[:count])
    target.unlink()
    return Transfer(up[0], down[0], copy[0])


def flipped(names: list[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, name) for every name per round, the order flipped every other round."""
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            yield round_no, name


# -- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Small:
    """pairs/s per round per peer, and the CPU seconds spent over all the rounds."""

    rates: dict[str, list[float]]
    put_ms: dict[str, float]
    get_ms: dict[str, float]
    server_cpu: dict[str, float]
    client_cpu: float


def measure_small(urls: dict[str, str], pids: dict[str, int], args: argparse.Namespace) -> Small:
    clients = {name: [s3_client(url, pool=2) for _ in range(CLIENTS)] for name, url in urls.items()}
    for name in urls:  # warm connections and first-call costs
        small_round(clients[name], "warm", 0.5)
    rates: dict[str, list[float]] = {name: [] for name in urls}
    cpu_before = {name: b.cpu_seconds(pid) for name, pid in pids.items()}
    client_before = time.process_time()
    for round_no, name in flipped(list(urls), args.rounds):
        rates[name].append(small_round(clients[name], f"r{round_no}", args.seconds))
    client_cpu = time.process_time() - client_before
    server_cpu = {name: b.cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    put_ms, get_ms = {}, {}
    for name, peer_clients in clients.items():
        puts, gets = latencies(peer_clients[0], args.latency)
        put_ms[name] = b.percentile(b.ms(puts), 50)
        get_ms[name] = b.percentile(b.ms(gets), 50)
    return Small(rates, put_ms, get_ms, server_cpu, client_cpu)


def measure_large(
    urls: dict[str, str], sizes: dict[str, int], workdir: Path, args: argparse.Namespace
) -> dict[str, list[Transfer]]:
    """Transfers per peer (`bare` included); each peer has its own source file size."""
    sources, digests = {}, {}
    for size in set(sizes.values()):
        sources[size] = workdir / f"source-{size}"
        digests[size] = write_random(sources[size], size)
    clients = {name: s3_client(url) for name, url in urls.items()}
    results: dict[str, list[Transfer]] = {name: [] for name in [*urls, "bare"]}
    target = workdir / "target"
    for round_no, name in flipped(list(results), args.large_rounds):
        source = sources[sizes[name]]
        if name == "bare":
            results[name].append(bare_transfer(source, target))
        else:
            expect = digests[sizes[name]] if round_no == 0 else None
            transfer = s3_transfer(clients[name], source, target, f"large-{round_no}", expect)
            results[name].append(transfer)
    return results


def mb_per_s(size: int, transfers: list[Transfer]) -> tuple[float, float]:
    """Median upload and download MB/s."""
    up = statistics.median(size / MB / t.upload_s for t in transfers)
    down = statistics.median(size / MB / t.download_s for t in transfers)
    return up, down


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0, help="per small-object round")
    parser.add_argument("--rounds", type=int, default=3, help="small-object rounds")
    parser.add_argument("--large-mb", type=int, default=1024)
    parser.add_argument("--latency", type=int, default=200, help="sequential 1 KB pairs")
    parser.add_argument("--moto-mb", type=int, default=256, help="moto's large object size")
    parser.add_argument("--large-rounds", type=int, default=3)
    args = parser.parse_args()
    large = args.large_mb * MB
    sizes = {"nimbus": large, "moto": min(args.moto_mb, args.large_mb) * MB, "bare": large}
    report = b.Report("s3_objects")
    with (
        b.NimbusServer() as nimbus,
        b.MotoServer() as moto,
        tempfile.TemporaryDirectory(prefix="s3-bench-", dir="/tmp") as workdir,
    ):
        urls = {"nimbus": nimbus.url, "moto": moto.url}
        for url in urls.values():
            s3_client(url).create_bucket(Bucket=BUCKET)
        small = measure_small(urls, {"nimbus": nimbus.pid, "moto": moto.pid}, args)
        transfers = measure_large(urls, sizes, Path(workdir), args)
    pairs = {name: statistics.median(values) for name, values in small.rates.items()}
    speed = {name: mb_per_s(sizes[name], values) for name, values in transfers.items()}
    fill(report, args, pairs, speed, sizes, transfers)
    report.compare(
        "PutObject 1 KB p50, 1 client (vs moto)", small.put_ms["nimbus"], small.put_ms["moto"]
    )
    report.compare(
        "GetObject 1 KB p50, 1 client (vs moto)", small.get_ms["nimbus"], small.get_ms["moto"]
    )
    done = {name: sum(values) * args.seconds for name, values in small.rates.items()}
    per_pair = {name: small.server_cpu[name] / done[name] * 1e6 for name in done}
    client_per_pair = small.client_cpu / sum(done.values()) * 1e6
    report.notes.append(
        f"small objects: {CLIENTS} boto3 threads in one client process on the same 2 CPUs as "
        f"the servers, median of {args.rounds} interleaved rounds of {args.seconds:g} s; "
        f"server CPU per pair: nimbus {per_pair['nimbus']:.0f} us, moto "
        f"{per_pair['moto']:.0f} us; client (boto3) CPU per pair {client_per_pair:.0f} us, "
        f"{small.client_cpu / (2 * args.rounds * args.seconds):.2f} CPU during the rounds"
    )
    report.figures = {
        "pairs_per_s": small.rates,
        "server_cpu_s": small.server_cpu,
        "transfers_s": {
            n: [(t.upload_s, t.download_s, t.copy_s) for t in v] for n, v in transfers.items()
        },
        "sizes_mb": {name: size // MB for name, size in sizes.items()},
    }
    report.emit()


def fill(
    report: b.Report, args: argparse.Namespace, pairs: dict[str, float],
    speed: dict[str, tuple[float, float]], sizes: dict[str, int],
    transfers: dict[str, list[Transfer]],
) -> None:  # fmt: skip
    """The table rows, goals and the large-object note."""
    report.compare(
        f"PutObject+GetObject 1 KB, {CLIENTS} clients (vs moto)",
        pairs["nimbus"], pairs["moto"], unit=" pairs/s",
    )  # fmt: skip
    size_mb, moto_mb = sizes["nimbus"] // MB, sizes["moto"] // MB
    for index, verb in enumerate(("upload_file", "download_file")):
        bare_what = "write+fsync" if index == 0 else "read back"
        report.compare(
            f"{verb} {size_mb} MB (vs bare file {bare_what})",
            speed["nimbus"][index], speed["bare"][index], unit=" MB/s",
        )  # fmt: skip
        if index == 1:  # download_file writes the file it reads: its floor is a copy
            copy = statistics.median(sizes["bare"] / MB / t.copy_s for t in transfers["bare"])
            report.compare(
                f"{verb} {size_mb} MB (vs bare copy: read + write, no fsync)",
                speed["nimbus"][index], copy, unit=" MB/s",
            )  # fmt: skip
        report.compare(
            f"{verb} {size_mb} MB (vs moto at {moto_mb} MB)",
            speed["nimbus"][index], speed["moto"][index], unit=" MB/s",
        )  # fmt: skip
    report.goals += [
        b.Goal(f"PutObject+GetObject pairs/s, {CLIENTS} clients", pairs["nimbus"],
               GOAL_PAIRS_PER_S, "pairs/s", ">="),
        b.Goal("upload_file / bare write+fsync", speed["nimbus"][0] / speed["bare"][0] * 100,
               GOAL_SHARE_OF_BARE, "%", ">="),
        b.Goal("download_file / bare read back", speed["nimbus"][1] / speed["bare"][1] * 100,
               GOAL_SHARE_OF_BARE, "%", ">="),
    ]  # fmt: skip
    report.notes.append(
        f"large object: random bytes, s3transfer defaults (8 MB parts, 10 threads), median "
        f"of {args.large_rounds} interleaved rounds; nimbus and moto run on the same 2 CPUs "
        f"as the client; the bare file's read back comes from the page cache"
    )
    if moto_mb < size_mb:
        report.notes.append(
            f"moto's large object is {moto_mb} MB, not {size_mb} MB: moto keeps object bytes "
            f"in memory and a trial at 1024 MB downloaded at 13 MB/s (~80 s a round)"
        )


if __name__ == "__main__":
    main()
