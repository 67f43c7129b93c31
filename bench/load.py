"""Load generators, each in its own process or threads, all on loopback.

- ``wrk``: Debian's wrk for open-ended GETs (the pages and the reference view) for a duration.
- ``send_all``: a fixed list of POSTs sent by a few Python threads, timed from the first to the
  last answer; for the usage batches and the webhook events, where each request must be a
  different one and counted exactly (wrk only runs for a duration).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class WrkResult:
    url: str
    requests_per_second: float
    requests: int
    bad_responses: int  # non-2xx/3xx answers
    socket_errors: int
    latency_p50_ms: float
    latency_p99_ms: float


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None) -> WrkResult:
    """One wrk run (one thread: the machine has two cores and the server needs them)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (make bench installs it with apt-get)")
    args = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rps is None or total is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", out)
    return WrkResult(
        url=url,
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        latency_p50_ms=_ms(*p50.groups()) if p50 else 0.0,
        latency_p99_ms=_ms(*p99.groups()) if p99 else 0.0,
    )


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    # Called just before sending, so that signatures carry the time of sending.
    headers: Callable[[bytes], dict[str, str]]


@dataclass
class SendResult:
    seconds: float
    answers: list[tuple[int, bytes]]  # (status, body), in the order of the requests


def send_all(base_url: str, batch: Sequence[Request], *, threads: int) -> SendResult:
    """POST every request once, ``threads`` at a time (each thread keeps its connection), and
    time the whole: from the first request sent to the last answer received."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(batch)
    cursor = iter(range(len(batch)))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                request = batch[index]
                try:
                    response = session.post(
                        base_url + request.path, data=request.body, headers=request.headers(request.body), timeout=300
                    )
                except requests.RequestException as error:
                    failures.append(error)
                    return
                answers[index] = (response.status_code, response.content)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, the first: {failures[0]!r}")
    return SendResult(seconds=seconds, answers=answers)
