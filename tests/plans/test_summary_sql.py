"""The hand-written reads behind a line's summary and the catalogue's offers (plans.summary_sql)
give what the ORM gives: the same instances, every column converted as the ORM converts it,
their plans and prices attached."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import ProgrammingError, connection, transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boomcard.rows import Read, read_together, row_columns
from plans.models import Bucket, DailyUsage, Line, Plan, Price, UsageRecord, usage_day
from plans.selectors import offered_price
from plans.summary_sql import (
    DayRow,
    LinesOf,
    buckets_of,
    buckets_read,
    days_of,
    days_read,
    lines_read,
    lines_with_freshness,
    plans_with_price,
)
from tests.factories import BucketFactory, LineFactory, PlanFactory, UserFactory, usage_applied

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_lines():
    """A customer with a line on a plan (a live home bucket, a coming one, an expired one and a
    roaming pack, usage records and daily totals), a line with no plan yet, and someone else's line."""
    now = timezone.now()
    customer = UserFactory.create()
    on_plan = LineFactory.create(owner=customer, plan=PlanFactory.create(), nickname="Work")
    LineFactory.create(owner=customer)
    LineFactory.create(owner=UserFactory.create())
    BucketFactory.create(line=on_plan, plan=on_plan.plan, data_used=5)
    BucketFactory.create(line=on_plan, plan=on_plan.plan, starts_at=now + timedelta(days=29))
    BucketFactory.create(line=on_plan, plan=on_plan.plan, starts_at=now - timedelta(days=40))
    BucketFactory.create(line=on_plan, plan=PlanFactory.create(roaming=True))
    today = usage_day(now)
    DailyUsage.objects.create(line=on_plan, day=today - timedelta(days=1), data=5, voice=60, sms=2)
    DailyUsage.objects.create(line=on_plan, day=today - timedelta(days=40), data=9)
    # Two records of 1 byte a day apart, the newer applied first: the line's last usage is the
    # newest one, not the last applied.
    for days in (0, 1):
        usage_applied(on_plan, at=now - timedelta(days=days), amount=1)
    return customer, now


def test_lines_are_the_orms_with_their_plans_and_the_newest_usage_time(customer_lines):
    customer, _now = customer_lines
    latest = UsageRecord.objects.filter(line=OuterRef("pk")).order_by("-at")  # the records, read the slow way
    expected = list(
        Line.objects.filter(owner=customer)
        .select_related("plan")
        .annotate(usage_updated_at=Subquery(latest.values("at")[:1]))
        .order_by("added_at", "id")
    )
    with CaptureQueriesContext(connection) as queries:
        found = lines_with_freshness(owner_id=customer.pk)
        plans = [line.plan for line in found]
    assert len(queries) == 1
    assert [row_columns(line) for line in found] == [row_columns(line) for line in expected]
    assert [plan and row_columns(plan) for plan in plans] == [line.plan and row_columns(line.plan) for line in expected]
    assert plans[1] is None  # no plan yet: the outer join found none
    freshness = [getattr(line, "usage_updated_at") for line in found]  # noqa: B009 (an annotation)
    assert freshness == [getattr(line, "usage_updated_at") for line in expected]  # noqa: B009
    assert freshness == [UsageRecord.objects.filter(line=found[0]).latest("at").at, None]

    assert lines_with_freshness(owner_id=customer.pk, line_id=found[1].pk) == [found[1]]
    someone_elses = Line.objects.exclude(owner=customer).get()
    assert lines_with_freshness(owner_id=customer.pk, line_id=someone_elses.pk) == []


def test_buckets_are_the_orms_live_or_coming_in_order_of_expiry(customer_lines):
    customer, now = customer_lines
    line_ids = list(Line.objects.filter(owner=customer).values_list("pk", flat=True))
    for started in (True, False):
        expected = Bucket.objects.filter(line_id__in=line_ids, expires_at__gt=now).select_related("plan")
        if started:
            expected = expected.filter(starts_at__lte=now)
        expected = expected.order_by("expires_at", "id")
        with CaptureQueriesContext(connection) as queries:
            found = buckets_of(line_ids, now=now, started=started)
            plans = [bucket.plan for bucket in found]
        assert len(queries) == 1
        assert [row_columns(bucket) for bucket in found] == [row_columns(bucket) for bucket in expected]
        assert [row_columns(plan) for plan in plans] == [row_columns(bucket.plan) for bucket in expected]
        assert len(found) == (2 if started else 3)
    roaming = [bucket for bucket in found if bucket.countries]
    assert roaming[0].countries == ["JP", "KR"]  # a JSON column, decoded as the ORM decodes it
    assert buckets_of([], now=now, started=True) == []


def test_days_are_the_stored_totals_between_the_two_days(customer_lines):
    customer, now = customer_lines
    line = Line.objects.filter(owner=customer, plan__isnull=False).get()
    today = usage_day(now)
    assert days_of([line.pk], first=today - timedelta(days=27), last=today) == [
        (line.pk, today - timedelta(days=1), 5, 1, 60, 0, 2, 0),  # before any bucket: overage
        (line.pk, today, 1, 0, 0, 0, 0, 0),
    ]
    assert len(days_of([line.pk], first=today - timedelta(days=40), last=today)) == 3
    assert days_of([], first=today, last=today) == []


def test_plans_on_sale_are_the_orms_each_with_its_price_in_the_currency_or_none(plans):
    priced = plans["basic-30"]
    priced.prices.filter(currency="USD").delete()
    PlanFactory.create(is_active=False)
    prices = Prefetch("prices", queryset=Price.objects.filter(currency="USD"), to_attr="price_in")
    expected = list(Plan.objects.filter(is_active=True).prefetch_related(prices).order_by("sort_order", "code"))
    with CaptureQueriesContext(connection) as queries:
        found = plans_with_price(currency="USD")
    assert len(queries) == 1
    assert [row_columns(plan) for plan in found] == [row_columns(plan) for plan in expected]
    offered = [offered_price(plan) for plan in found]
    assert [price and row_columns(price) for price in offered] == [
        (price := offered_price(plan)) and row_columns(price) for plan in expected
    ]
    with CaptureQueriesContext(connection) as queries:
        assert all(price.plan is plan for plan, price in zip(found, offered, strict=True) if price)
    assert len(queries) == 0
    assert offered[[plan.pk for plan in found].index(priced.pk)] is None  # no USD price: not offered in USD
    assert all(plan.is_active for plan in found)


def test_the_owners_reads_give_what_the_reads_by_line_give_in_one_round_trip(customer_lines):
    """Read beside the customer's lines (``read_together``: one round trip on PostgreSQL), the
    buckets and days of ``owner_id``'s lines are those read by their ids; with ``line_id``, only
    that line's, and nothing of a line that is someone else's."""
    customer, now = customer_lines
    ids = list(Line.objects.filter(owner=customer).values_list("pk", flat=True))
    someone_elses = Line.objects.exclude(owner=customer).get().pk
    today = usage_day(now)
    first = today - timedelta(days=60)
    pipelines = []
    real_pipeline = connection.connection.pipeline

    def pipeline():
        pipelines.append(1)
        return real_pipeline()

    with (
        mock.patch.object(connection.connection, "pipeline", side_effect=pipeline),
        CaptureQueriesContext(connection) as queries,
    ):
        lines, buckets, days = read_together(
            lines_read(owner_id=customer.pk),
            buckets_read(LinesOf(owner_id=customer.pk), now=now, started=False),
            days_read(LinesOf(owner_id=customer.pk), first=first, last=today),
        )
    assert (len(queries), len(pipelines)) == (3, 1)
    assert [line.pk for line in lines] == [line.pk for line in lines_with_freshness(owner_id=customer.pk)]
    assert [row_columns(b) for b in buckets] == [row_columns(b) for b in buckets_of(ids, now=now, started=False)]
    assert sorted(days) == sorted(days_of(ids, first=first, last=today))
    assert len(buckets) == 3
    assert len(days) == 3

    def one_line(line_id: int) -> tuple[list[Bucket], list[DayRow]]:
        return read_together(
            buckets_read(LinesOf(owner_id=customer.pk, line_id=line_id), now=now, started=False),
            days_read(LinesOf(owner_id=customer.pk, line_id=line_id), first=first, last=today),
        )

    assert one_line(ids[0]) == (
        buckets_of([ids[0]], now=now, started=False),
        days_of([ids[0]], first=first, last=today),
    )
    assert one_line(someone_elses) == ([], [])


def test_a_line_added_between_the_reads_is_left_out_until_the_next_view(customer_lines):
    """The home page reads the lines, their buckets and their days beside each other: a line
    added (with its bucket) after the lines were read is left out, not a page that fails."""
    from plans import selectors

    customer, now = customer_lines
    before = [line.pk for line in Line.objects.filter(owner=customer)]
    added = LineFactory.create(owner=customer)
    BucketFactory.create(line=added, plan=PlanFactory.create())
    DailyUsage.objects.create(line=added, day=usage_day(now), data=3)
    read_before = selectors.lines_read(owner_id=customer.pk)
    as_before = Read(read_before.sql, read_before.params, lambda rows: read_before.result(rows)[: len(before)])
    with mock.patch.object(selectors, "lines_read", return_value=as_before):
        summaries = selectors.line_summaries(user=customer, now=now)
    assert [summary.line.pk for summary in summaries] == before
    assert [summary.line.pk for summary in selectors.line_summaries(user=customer, now=now)] == [*before, added.pk]


def test_an_error_in_reads_sent_together_is_djangos_and_the_connection_goes_on(db):
    with pytest.raises(ProgrammingError), transaction.atomic():
        read_together(Read("SELECT 1", [], list), Read("SELECT * FROM no_such_table", [], list))
    assert read_together(Read("SELECT 2", [], list), Read("SELECT 3", [], list)) == ([(2,)], [(3,)])
