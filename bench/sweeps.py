"""Figure 3: the two hourly sweeps with 10,000, 100,000 and 1,000,000 lines, of which the same
1,000 are due each time: the time must follow what is due, not the number of lines.

The lines that are not due expire at least 10 days ahead (or expired over a month ago, or are
unassigned stock with no expiry), so no reminder stage's window and no auto-renew window holds
any of them; a fifth of them have auto-renew on.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import connection
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from bench import seed, stripe_setup
from billing.models import Order, RenewalReminder
from billing.sweeps import auto_renew_run, renewal_reminders_send
from plans.models import Bucket, Line, Plan

DUE = 1_000
REMINDER_OWNERS = 1_000
CARD_OWNERS = 10
# A run during which the shared Redis stopped answering (another engineer's broker-outage test)
# measures the outage, not the sweep: it is run again, up to this many times in all.
ATTEMPTS = 3


@dataclass
class SizeResult:
    lines: int
    reminders_seconds: list[float] = field(default_factory=list)
    auto_renew_seconds: list[float] = field(default_factory=list)
    # The sweeps' reads of plans_line alone, run again after the sweep (its selection).
    reminders_select_seconds: list[float] = field(default_factory=list)
    auto_renew_select_seconds: list[float] = field(default_factory=list)

    @staticmethod
    def median(values: list[float]) -> float:
        return statistics.median(values)


@dataclass
class SweepsResult:
    sizes: list[SizeResult] = field(default_factory=list)
    explains: dict[str, str] = field(default_factory=dict)
    # Runs thrown away because emails could not be queued on Redis meanwhile.
    disturbed_runs: int = 0

    def ratio(self, name: str) -> float:
        """The 1,000,000-line time over the 10,000-line time."""
        first, last = self.sizes[0], self.sizes[-1]
        return SizeResult.median(getattr(last, name)) / SizeResult.median(getattr(first, name))

    @property
    def indexes_used(self) -> bool:
        return all("Seq Scan on plans_line" not in plan for plan in self.explains.values())


@dataclass
class Population:
    plan: Plan
    reminder_owners: list[int]
    card_owners: list[int]
    next_serial: int = 1
    # Lines an earlier figure left due for a reminder (Lighthouse's demo customer has one five
    # days from expiry), reminded with the bench's own at every sweep.
    due_before: int = 0


def population_start(plans: dict[str, Plan]) -> Population:
    """The due lines: 1,000 seven days from expiry with no auto-renew (the reminders), and 1,000
    with auto-renew and a saved card expiring in 24 to 33 hours (the charges)."""
    people = Population(
        plan=plans["basic-10"],
        reminder_owners=seed.users_insert(first=600_000, count=REMINDER_OWNERS),
        card_owners=seed.users_insert(first=700_000, count=CARD_OWNERS),
    )
    stripe_setup.profiles_with_cards(people.card_owners)
    people.due_before = renewal_reminders_send(now=timezone.now())
    _reminders_reset()
    seed.lines_insert(
        numbers=seed.SWEEP_LINES,
        first=1,
        count=DUE,
        owner_ids=people.reminder_owners,
        plan=people.plan,
        expires_at_sql="now + interval '5 days' + make_interval(mins => n::int)",
    )
    seed.lines_insert(
        numbers=seed.SWEEP_LINES,
        first=DUE + 1,
        count=DUE,
        owner_ids=people.card_owners,
        plan=people.plan,
        expires_at_sql="now + interval '24 hours' + make_interval(secs => 30 * n::int)",
        auto_renew_sql="true",
    )
    people.next_serial = 2 * DUE + 1
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_auto_renew_due")
        cursor.execute(
            "CREATE TABLE bench_auto_renew_due AS SELECT id, expires_at, plan_id FROM plans_line WHERE auto_renew"
        )
        # Their customers were told of the charge 25 hours ago (the notice 24 hours before each
        # charge, billing.next_charge): the charges are due now.
        cursor.execute(
            "INSERT INTO billing_autorenewal (line_id, expires_at, notified_at, created_at)"
            " SELECT id, expires_at, now() - interval '25 hours', now() FROM bench_auto_renew_due"
        )
    return people


def _stripe_fresh(people: Population) -> None:
    stripe_setup.wipe()
    stripe_setup.profiles_with_cards(people.card_owners)


def population_grow(people: Population, lines: int) -> None:
    """Lines that are not due, until the table holds ``lines``."""
    missing = lines - Line.objects.count()
    if missing <= 0:
        return
    seed.lines_insert(
        numbers=seed.SWEEP_LINES,
        first=people.next_serial,
        count=missing,
        owner_ids=people.reminder_owners,
        plan=people.plan,
        expires_at_sql=(
            "CASE WHEN n % 20 = 0 THEN now - interval '40 days' - make_interval(secs => (n * 7919 % 8640000)::int)"
            " ELSE now + interval '10 days' + make_interval(secs => (n * 7919 % 30240000)::int) END"
        ).replace("%", "%%"),
        auto_renew_sql="n % 5 = 0".replace("%", "%%"),
        unowned_every=10,
    )
    people.next_serial += missing
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE plans_line")


def _reminders_reset() -> None:
    EmailDelivery.objects.filter(notice__kind=Notice.Kind.RENEWAL_REMINDER).delete()
    Notice.objects.filter(kind=Notice.Kind.RENEWAL_REMINDER).delete()
    RenewalReminder.objects.all().delete()


def _auto_renew_reset() -> None:
    orders = Order.objects.filter(off_session=True)
    keys = [f"order-fulfilled:{pk}" for pk in orders.values_list("pk", flat=True)]
    keys += [f"order-payment-needed:{pk}" for pk in orders.values_list("pk", flat=True)]
    EmailDelivery.objects.filter(notice__key__in=keys).delete()
    Notice.objects.filter(key__in=keys).delete()
    buckets = list(Bucket.objects.filter(order_item__order__off_session=True).values_list("pk", flat=True))
    orders.delete()  # and their items, which point at the buckets
    Bucket.objects.filter(pk__in=buckets).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE plans_line AS l SET expires_at = d.expires_at, plan_id = d.plan_id"
            " FROM bench_auto_renew_due AS d WHERE l.id = d.id"
        )
        # The old row versions' index entries would otherwise pile up in the expiry windows.
        cursor.execute("VACUUM plans_line, billing_order, plans_bucket")


Query = tuple[str, Any]


class _QueueFailures(logging.Handler):
    """Counts the "task not queued" warnings (the outbox's emails) (Redis not answering), and keeps them off
    the console: a thousand a run when Redis is down."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def _queue_failures() -> Iterator[_QueueFailures]:
    logger = logging.getLogger("boomcard.tasks")
    handler = _QueueFailures()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _timed(
    sweep: Callable[[], int], disturbed: list[int], prepare: Callable[[], object] | None = None
) -> tuple[float, int, list[Query]]:
    """Run a sweep (after ``prepare``, untimed), again if Redis was not answering meanwhile: its
    seconds, its count, its line reads. ``disturbed`` counts the runs thrown away."""
    for attempt in range(1, ATTEMPTS + 1):
        if prepare is not None:
            prepare()
        with _queue_failures() as failures, _line_reads() as selects:
            start = time.perf_counter()
            count = sweep()
            seconds = time.perf_counter() - start
        if not failures.count or attempt == ATTEMPTS:
            return seconds, count, selects
        disturbed.append(failures.count)
        _reminders_reset()
        _auto_renew_reset()
        time.sleep(10)  # give the other engineer's Redis time to come back
    raise AssertionError("unreachable")


@contextmanager
def _line_reads() -> Iterator[list[Query]]:
    """Record the sweep's reads by expiry (SQL and parameters), as it runs them: of plans_line, and
    of billing_autorenewal (the charges due, announced a day before)."""
    found: list[Query] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        by_expiry = ('FROM "plans_line"' in sql and '"plans_line"."expires_at" >' in sql) or (
            'FROM "billing_autorenewal"' in sql and '"billing_autorenewal"."expires_at" >' in sql
        )
        if sql.startswith("SELECT") and by_expiry:
            found.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield found


def _select_time(queries: list[Query]) -> float:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, params in queries:
            cursor.execute(sql, params)
            cursor.fetchall()
    return time.perf_counter() - start


def _explain(query: Query) -> str:
    sql, params = query
    with connection.cursor() as cursor:
        # The statement with its parameters written in, as a client-side binding cursor would
        # send it: the app's cursors bind them on the server (boomcard.settings).
        shown = psycopg.ClientCursor(cursor.cursor.connection).mogrify(sql, params)
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
        return shown + "\n\n" + "\n".join(row[0] for row in cursor.fetchall())


def measure_size(
    people: Population, lines: int, *, repeats: int, explain: bool, disturbed: list[int]
) -> tuple[SizeResult, dict[str, str]]:
    population_grow(people, lines)
    result = SizeResult(lines=Line.objects.count())
    explains: dict[str, str] = {}
    for attempt in range(repeats):
        _reminders_reset()
        seconds, sent, selects = _timed(lambda: renewal_reminders_send(now=timezone.now()), disturbed)
        result.reminders_seconds.append(seconds)
        if sent != DUE + people.due_before:
            raise RuntimeError(f"{lines} lines: {sent} reminders, expected {DUE} + {people.due_before} due before")
        _reminders_reset()
        result.reminders_select_seconds.append(_select_time(selects))
        if explain and attempt == 0:
            for number, query in enumerate(selects, start=1):
                explains[f"renewal_reminders_send, query {number} of {len(selects)}"] = _explain(query)
    _reminders_reset()
    for attempt in range(max(1, repeats // 2)):
        _auto_renew_reset()
        # A fresh localstripe each time, so that Stripe's side costs the same at every size.
        seconds, charged, selects = _timed(
            lambda: auto_renew_run(now=timezone.now()), disturbed, prepare=lambda: _stripe_fresh(people)
        )
        result.auto_renew_seconds.append(seconds)
        if charged != DUE:
            raise RuntimeError(f"{lines} lines: {charged} auto-renew charges, expected {DUE}")
        _auto_renew_reset()
        for _ in range(repeats):
            result.auto_renew_select_seconds.append(_select_time(selects))
        if explain and attempt == 0:
            for number, query in enumerate(selects, start=1):
                explains[f"auto_renew_run, query {number} of {len(selects)}"] = _explain(query)
    _auto_renew_reset()
    return result, explains


def measure(plans: dict[str, Plan], *, sizes: tuple[int, ...], repeats: int, log: bool = True) -> SweepsResult:
    people = population_start(plans)
    result = SweepsResult()
    disturbed: list[int] = []
    for lines in sizes:
        size, explains = measure_size(people, lines, repeats=repeats, explain=lines == sizes[-1], disturbed=disturbed)
        result.sizes.append(size)
        result.explains.update(explains)
        result.disturbed_runs = len(disturbed)
        if log:
            print(
                f"  {size.lines:>9,} lines: reminders {size.median(size.reminders_seconds):.3f} s"
                f" (select {size.median(size.reminders_select_seconds) * 1000:.1f} ms),"
                f" auto-renew {size.median(size.auto_renew_seconds):.3f} s"
                f" (select {size.median(size.auto_renew_select_seconds) * 1000:.1f} ms)",
                flush=True,
            )
    return result
