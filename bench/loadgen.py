"""Closed-loop HTTP load: N keep-alive connections, each sending one request at a time.

Run as its own process (`python bench/loadgen.py URL FUNCTION --conns 16 --seconds 5`)
so the client's CPU is not the server's: on a 2-core machine they still share the cores,
which is why the client is asyncio on uvloop with raw sockets and pre-signed requests
(SigV4 has no nonce; a signature stays valid for the 5-minute skew window). Prints one
JSON line: requests completed, seconds, latency percentiles, the client's own CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time

import benchlib as b


def request_bytes(url: str, function: str, payload: bytes) -> bytes:
    path = b.INVOKE_PATH.format(name=function)
    headers = b.sign(url, path, payload)
    host = url.removeprefix("http://")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def worker(
    url: str,
    raw: bytes,
    stop_at: float,
    measure_from: float,
    latencies: list[float],
    sent: list[int],
) -> int:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    done = 0
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return done
            writer.write(raw)
            status = await read_response(reader)
            if status != 200:
                raise RuntimeError(f"status {status}")
            finished = time.perf_counter()
            sent.append(1)
            if started >= measure_from:
                done += 1
                latencies.append(finished - started)
    finally:
        writer.close()


async def run(
    url: str, function: str, conns: int, seconds: float, warmup: float
) -> dict[str, float]:
    raw = request_bytes(url, function, b"{}")
    now = time.perf_counter()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    latencies: list[float] = []
    sent: list[int] = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    counts = await asyncio.gather(
        *(worker(url, raw, stop_at, measure_from, latencies, sent) for _ in range(conns))
    )
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    total = sum(counts)
    lat = b.summary(b.ms(latencies))
    return {
        "requests": total,
        "all_requests": len(sent),
        "seconds": seconds,
        "rps": total / seconds,
        "p50_ms": lat["p50"],
        "p99_ms": lat["p99"],
        "client_cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("function")
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    import uvloop

    result = uvloop.run(run(args.url, args.function, args.conns, args.seconds, args.warmup))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
