"""Load generators, each in its own process or threads, all on loopback.

- ``wrk``: Debian's wrk for open-ended GETs (the pages and the reference view) for a duration.
- ``wrk_post_each``: wrk again, with a script that POSTs each of a fixed list of requests once
  and stops at the last answer; for the webhook events, where each request must be a different
  one and counted exactly, and the client must not take the cores from the server.
- ``send_all``: a fixed list of POSTs sent by a few Python threads, timed from the first to the
  last answer; for the usage batches (each large: the client's time is small beside the server's).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class PostedEach:
    seconds: float  # from wrk's start until the last of the requests was answered
    answered: int
    unexpected: int  # answers other than the one expected
    first_unexpected: str  # "status body" of the first of them, for the error message


# wrk sends each prepared POST once, over all its connections, and at the last answer prints
# the time from the first send (LuaJIT's ffi reads the clock) and the counts. A connection with
# nothing left to send asks for ``/ping`` meanwhile (answered "ok", not counted): wrk has every
# connection send something. wrk itself runs on until its duration; the caller stops it.
_POST_EACH_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local now_buffer = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, now_buffer)  -- CLOCK_MONOTONIC
  return tonumber(now_buffer.tv_sec) * 1000000 + tonumber(now_buffer.tv_nsec) / 1000
end

local prepared = dofile(%(data)s)
local expected = %(expected)s
local calls, sent, answered, unexpected, first_unexpected, started = 0, 0, 0, 0, "", nil
local requests, idle

function init(args)
  requests = {}
  for i, item in ipairs(prepared) do
    requests[i] = wrk.format("POST", %(path)s, item.headers, item.body)
  end
  idle = wrk.format("GET", "/ping")
end

function request()
  -- wrk calls this once before sending anything, to see whether requests are pipelined; what
  -- it gets then is never sent, so it gets the idle request.
  calls = calls + 1
  if calls > 1 and sent < #requests then
    if started == nil then started = now_us() end
    sent = sent + 1
    return requests[sent]
  end
  return idle
end

function response(status, headers, body)
  if body == "ok" then return end
  answered = answered + 1
  if status ~= 200 or body ~= expected then
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = string.gsub(status .. " " .. string.sub(body, 1, 300), "\n", " ")
    end
  end
  if answered == #requests then
    local elapsed = math.floor(now_us() - started)
    io.write(string.format("POSTED_EACH %%d %%d %%d %%s\n", elapsed, answered, unexpected, first_unexpected))
    io.flush()
    wrk.thread:stop()
  end
end
"""


def _lua_string(text: str | bytes) -> str:
    """A Lua long string holding ``text`` as it is."""
    if isinstance(text, bytes):
        text = text.decode()
    level = "=" * 4
    if f"]{level}]" in text or text.startswith("\n"):
        raise ValueError("cannot quote this text as a Lua long string")
    return f"[{level}[{text}]{level}]"


def wrk_post_each(
    base_url: str,
    path: str,
    posts: Sequence[tuple[bytes, dict[str, str]]],
    *,
    expected: bytes,
    connections: int,
    max_seconds: int = 600,
) -> PostedEach:
    """POST each (body, headers) of ``posts`` once with wrk (one thread, ``connections`` kept
    alive), timed from the start until the last is answered; each answer is checked against
    ``expected`` in wrk's script. The client is wrk, in C, as for ``/ping`` and the pages: a
    Python client takes as much of the two cores as the server it measures."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (make bench installs it with apt-get)")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        data = Path(folder) / "posts.lua"
        items = (
            "{headers = {"
            + ", ".join(f"[ {_lua_string(name)} ] = {_lua_string(value)}" for name, value in headers.items())
            + f"}}, body = {_lua_string(body)}}}"
            for body, headers in posts
        )
        data.write_text("return {\n" + ",\n".join(items) + "\n}\n", encoding="utf-8")
        script = Path(folder) / "post_each.lua"
        script.write_text(
            _POST_EACH_LUA
            % {"data": _lua_string(str(data)), "expected": _lua_string(expected), "path": _lua_string(path)},
            encoding="utf-8",
        )
        args = [binary, "-t1", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "30s", "-s", str(script)]
        errors = Path(folder) / "stderr"
        with (
            errors.open("w") as stderr,
            subprocess.Popen([*args, base_url + "/"], stdout=subprocess.PIPE, stderr=stderr, text=True) as process,  # noqa: S603
        ):
            assert process.stdout is not None
            found = None
            for line in process.stdout:  # ends when wrk does: by its duration, or an error
                found = re.match(r"POSTED_EACH (\d+) (\d+) (\d+) ?(.*)", line)
                if found:
                    break
            process.terminate()
        if found is None:
            said = errors.read_text(encoding="utf-8")[-2000:]
            raise RuntimeError(f"wrk did not see every request answered within {max_seconds} s: {said}")
    return PostedEach(
        seconds=int(found.group(1)) / 1e6,
        answered=int(found.group(2)),
        unexpected=int(found.group(3)),
        first_unexpected=found.group(4),
    )
