"""The stack the benchmark runs on: its environment, its database, and the processes it starts
(localstripe, gunicorn, and Celery workers: on the ``usage`` queue for the usage feed, on the
``billing`` queue for the webhooks), each stopped by its own pid when the run ends."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "var" / "bench"

# BENCH_DATABASE / BENCH_REDIS_URL: for two runs side by side on one machine.
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "boombench")
DATABASE_SERVER = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

# The bench's own usage-feed key and webhook secret: nothing shared with a real deployment.
USAGE_KEY = "bench-usage-key-" + secrets.token_hex(8)
WEBHOOK_SECRET = "whsec_bench_" + secrets.token_hex(8)

WORKERS = 2
# gthread: a request that waits (PostgreSQL, Redis, Stripe) leaves
# the worker's other threads to use the core. See BENCHMARKS.md for the sync/gthread figures.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "gthread")
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
# Each worker takes at most its share of the load generator's keep-alive connections. Without a
# cap, the worker that wakes first accepts every connection wrk opens at once and keeps them for
# the whole run: ss showed 8/0 or 7/1 in most runs and 4/4 in some, so one process (one core,
# under the GIL) served the run, and rates per round were bimodal (/ping ~1,150 or ~2,300
# req/s, pages ~300 or ~640). A load balancer spreads connections over its backends; this does
# the same over the workers. Twice the threads: gthread keeps a connection alive only while it
# has fewer idle kept-alive connections than worker_connections - threads.
WORKER_CONNECTIONS = 2 * THREADS
# What wrk opens for the pages: every worker's share, so each worker is full and none has more.
LOAD_CONNECTIONS = WORKERS * WORKER_CONNECTIONS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ports:
    web: int = field(default_factory=free_port)
    stripe: int = field(default_factory=free_port)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web}"

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.stripe}"


def environment(ports: Ports) -> dict[str, str]:
    """Production settings with test secrets, as the brief for the bench asks: no TLS redirect
    (wrk speaks plain HTTP on loopback), and the rate limit of the usage feed raised so that
    the bench measures the feed, not the limiter (RATE_LIMIT_USAGE_API, settings.RATE_LIMITS)."""
    return {
        "DJANGO_SETTINGS_MODULE": "boomcard.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SITE_URL": ports.web_url,
        "DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "REDIS_URL": REDIS_URL,
        # Production needs a mail server named; the bench sends no mail it waits for.
        "EMAIL_URL": "consolemail://",
        "STRIPE_SECRET_KEY": "sk_test_boom_bench",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_boom_bench",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": ports.stripe_url,
        "USAGE_API_KEYS": USAGE_KEY,
        "RATE_LIMIT_USAGE_API": "1000000/m",
        "LOG_LEVEL": "WARNING",
    }


def database_create() -> None:
    """A fresh, empty ``boombench`` (dropped first if a previous run left it)."""
    with psycopg.connect(f"{DATABASE_SERVER}/postgres", autocommit=True) as conn:
        name = sql.Identifier(DATABASE_NAME)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def database_drop() -> None:
    with psycopg.connect(f"{DATABASE_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE_NAME)))


def redis_flush() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@contextlib.contextmanager
def redis_stores() -> Iterator[Counter[str]]:
    """The values Redis stores in the bench's database (SET, and MSET's each) while the block
    runs, counted by what each is of a customer's (``boomcard.page_cache``: "generation",
    "account-generation", "page", "user"; "other" for the rest), from Redis's keyspace events. They
    are published only during the block, which costs Redis a little: the figures measured then
    are the lower for it, if anything."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    database = client.connection_pool.connection_kwargs.get("db", 0)
    stores: Counter[str] = Counter()

    def counted(message: dict[str, bytes]) -> None:
        stores[_customer_value(message["data"].decode())] += 1

    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(**{f"__keyevent@{database}__:set": counted})
    thread = listener.run_in_thread(sleep_time=0.05, daemon=True)
    before = client.config_get("notify-keyspace-events").get("notify-keyspace-events") or ""
    client.config_set("notify-keyspace-events", "E$")  # keyevent channels, string commands
    try:
        yield stores
    finally:
        client.config_set("notify-keyspace-events", before)
        time.sleep(0.2)  # the events still on their way
        thread.stop()
        thread.join(timeout=5)
        listener.close()


def _customer_value(key: str) -> str:
    """What a cache key names of a customer's: ``:1:boom:customer:7:page:3f2a...`` is a "page"."""
    _, found, rest = key.partition("boom:customer:")
    return rest.split(":")[1] if found and rest.count(":") else "other"


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log}")
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {seconds:.0f} s; see {log}")


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], name: str, ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (arguments built in this module)
            args, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            _wait_for(ready_url, process, name, log)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def localstripe(ports: Ports, env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """localstripe on its own port, state in memory. Its own webhooks go nowhere (port 9): the
    bench sends the events itself, signed, so that it knows how many and when."""
    args = [sys.executable, "manage.py", "run_localstripe", "--port", str(ports.stripe)]
    args += ["--webhook-url", "http://127.0.0.1:9/"]
    return _process(args, env, "localstripe", ports.stripe_url)


def gunicorn(ports: Ports, env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    args = [
        str(BIN / "gunicorn"),
        # boomcard.wsgi, and the same URLs under /bare/ behind no middleware (bench/wsgi.py).
        "bench.wsgi:application",
        f"--workers={WORKERS}",
        f"--worker-class={WORKER_CLASS}",
        f"--threads={THREADS}",
        f"--worker-connections={WORKER_CONNECTIONS}",
        f"--bind=127.0.0.1:{ports.web}",
        "--keep-alive=5",
        "--worker-tmp-dir=/dev/shm",
        "--log-level=warning",
        "--timeout=120",
    ]
    return _process(args, env, "gunicorn", f"{ports.web_url}/ping")


# Celery worker processes applying usage batches (the usage queue). Batches spread over every
# line lock nearly all the same lines, so they apply one at a time whatever the number: one
# process, and a second one that decodes its next batch while the first holds the locks.
USAGE_WORKER_CONCURRENCY = int(os.environ.get("BENCH_USAGE_WORKERS", "2"))
USAGE_WORKER_NICE = int(os.environ.get("BENCH_USAGE_WORKER_NICE", "10"))
# Celery worker processes processing Stripe's webhook events (the billing queue): each event
# locks only its own order, so two processes work side by side.
BILLING_WORKER_CONCURRENCY = int(os.environ.get("BENCH_BILLING_WORKERS", "2"))
BILLING_WORKER_NICE = int(os.environ.get("BENCH_BILLING_WORKER_NICE", "10"))


@contextlib.contextmanager
def celery_workers(
    env: dict[str, str], *, queue: str, concurrency: int, nice: int
) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A boomcard worker -Q <queue>`` as production runs it (prefork, acks late), on the
    bench's broker; ready when its log says so, stopped warm (SIGTERM) at the end. At a lower CPU
    priority than gunicorn (``nice``): on two shared cores the answers, which the network and
    Stripe wait on, go first and the work catches up (in production the workers have hosts of
    their own)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"celery-{queue}.log"
    args = [
        "nice",
        f"-n{nice}",
        str(BIN / "celery"),
        "-A",
        "boomcard",
        "worker",
        "-Q",
        queue,
        f"--concurrency={concurrency}",
        "--pool=prefork",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "INFO",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (arguments built in this module)
            args, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None:
                raise RuntimeError(f"the {queue} worker exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {queue} worker was not ready within 60 s; see {log}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def usage_workers(env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return celery_workers(env, queue="usage", concurrency=USAGE_WORKER_CONCURRENCY, nice=USAGE_WORKER_NICE)


def billing_workers(env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return celery_workers(env, queue="billing", concurrency=BILLING_WORKER_CONCURRENCY, nice=BILLING_WORKER_NICE)


def usage_workers_description() -> str:
    return (
        f"Celery worker on the usage queue (prefork, concurrency {USAGE_WORKER_CONCURRENCY}, nice {USAGE_WORKER_NICE})"
    )


def billing_workers_description() -> str:
    return (
        f"Celery worker on the billing queue (prefork, concurrency {BILLING_WORKER_CONCURRENCY},"
        f" nice {BILLING_WORKER_NICE})"
    )


def gunicorn_description() -> str:
    if WORKER_CLASS != "gthread":
        return f"gunicorn, {WORKERS} {WORKER_CLASS} workers"
    threads = f", {THREADS} threads and at most {WORKER_CONNECTIONS} connections each"
    return f"gunicorn, {WORKERS} {WORKER_CLASS} workers{threads}"
