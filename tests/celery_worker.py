"""A real Celery worker for a test: started as production runs it, stopped at the end.

The worker is another process with its own database connection, so it sees only what the test
has committed: tests that use it need ``pytest.mark.django_db(transaction=True)``. It reads its
settings from the environment as any deployment does (the test database, the broker, Stripe);
only its mail goes to ``SlowFileBackend`` (tests/mail_backends.py), one file per email in
``mail_dir``, through a small settings module written next to its log (the project's settings
read no variable that picks the email backend).

    with celery_worker(database_url=..., broker_url=..., ...) as worker:
        ...            # enqueue, then poll with wait_until()
        worker.kill()  # SIGKILL, as a crashed host would
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO_DIR = Path(__file__).resolve().parents[1]
QUEUES = "email,billing,usage,celery"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Seconds after which Redis hands a task that was not acknowledged to a worker again.
VISIBILITY_TIMEOUT = 5

WORKER_SETTINGS = """\
# Written by tests/celery_worker.py for one test's worker.
from boomcard.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.mail_backends.SlowFileBackend"
EMAIL_FILE_PATH = {mail_dir!r}
EMAIL_TEST_DELAY = {email_delay!r}
"""


def wait_until(
    condition: Callable[[], Any], *, timeout: float, what: str, details: Callable[[], str] | None = None
) -> Any:
    """Poll ``condition`` until it returns something true (which is returned), or fail saying ``what``
    did not happen within ``timeout`` seconds, followed by ``details()`` (a worker's log, say)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s" + (f"\n{details()}" if details else ""))
        time.sleep(0.1)


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for a Django connection's settings (``connection.settings_dict``)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def kill(self) -> None:
        """Kill the worker and its pool process at once (SIGKILL to the process group): no shutdown,
        no acknowledgement, an open transaction dropped by PostgreSQL."""
        if self.process.poll() is None:
            # The group id is the worker's pid, safe to signal while the worker is not yet reaped.
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: finish the task in hand), then SIGKILL for whatever is left."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def celery_worker(
    *,
    database_url: str,
    broker_url: str,
    stripe_api_base: str,
    mail_dir: Path,
    run_dir: Path,
    email_delay: float = 0.0,
    visibility_timeout: int = VISIBILITY_TIMEOUT,
    concurrency: int = 1,
) -> Iterator[Worker]:
    """Start ``celery -A boomcard worker`` on every queue, wait until it is ready, and stop it on exit.

    ``visibility_timeout`` is short so that the task of a killed worker can go back to the queue
    within seconds: a worker puts back the tasks handed out longer ago than that when it starts
    (and then only every 100 s or so, kombu's default sweep). ``concurrency`` pool processes run
    tasks side by side (two: two events of one order can be processed at the same moment).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    mail_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "boom_worker_settings.py").write_text(
        WORKER_SETTINGS.format(mail_dir=str(mail_dir), email_delay=email_delay)
    )
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "boom_worker_settings",
        "PYTHONPATH": os.pathsep.join([str(run_dir), str(REPO_DIR)]),
        "DATABASE_URL": database_url,
        "REDIS_URL": broker_url,
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "STRIPE_API_BASE": stripe_api_base,
    }
    log_path = run_dir / f"worker-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "boomcard",
                "worker",
                "-Q",
                QUEUES,
                f"--concurrency={concurrency}",
                "--pool=prefork",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=REPO_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that kill() takes the pool too
        )
    worker = Worker(process=process, log_path=log_path)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"the worker exited ({process.returncode}):\n{worker.log_tail()}")
            return " ready." in worker.log()

        wait_until(ready, timeout=READY_TIMEOUT, what="the Celery worker to be ready", details=worker.log_tail)
        yield worker
    finally:
        with suppress(ProcessLookupError):
            worker.stop()
