"""A line's last usage, kept on its daily totals as usage is applied (plans migration 0006): the
records themselves have no index by line and no foreign key in the database."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plans.models import DailyUsage, Line, UsageRecord, usage_day
from plans.selectors import lines_for_desk
from plans.summary_sql import lines_with_freshness
from plans.usage import sql
from tests.factories import LineFactory, usage_applied
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["postgresql", "orm"])
def both_ways(request, monkeypatch):
    """PostgreSQL's upsert, and the ORM's read-then-write (SQLite's way, for the demo)."""
    if request.param == "orm":
        monkeypatch.setattr(sql, "_fast_sql", lambda: False)


def kept(line: Line) -> list[tuple]:
    rows = DailyUsage.objects.filter(line=line).order_by("day")
    return list(rows.values_list("day", "last_at", "last_kind", "last_amount", "last_country"))


@pytest.mark.usefixtures("both_ways", "midday")
def test_each_day_keeps_its_newest_record_whatever_order_they_are_applied_in():
    line = LineFactory.create(owned=True)
    now = timezone.now()
    today, yesterday = usage_day(now), usage_day(now - timedelta(days=1))

    usage_applied(line, at=now - timedelta(minutes=10), amount=300, kind="voice", country="JP")
    usage_applied(line, at=now - timedelta(minutes=30), amount=5, kind="data", country="HK")  # older: not kept
    usage_applied(line, at=now - timedelta(days=1), amount=1, kind="sms", country="CN")  # another day

    assert kept(line) == [
        (yesterday, now - timedelta(days=1), "sms", 1, "CN"),
        (today, now - timedelta(minutes=10), "voice", 300, "JP"),
    ]
    usage_applied(line, at=now - timedelta(minutes=1), amount=7, kind="data", country="HK")
    assert kept(line)[-1] == (today, now - timedelta(minutes=1), "data", 7, "HK")
    totals = DailyUsage.objects.get(line=line, day=today)  # still added up (as overage: the line has no bucket)
    assert (totals.data_overage, totals.voice_overage) == (5 + 7, 300)


def test_the_cards_and_the_desk_show_the_newest_record_not_the_last_applied():
    line = LineFactory.create(owned=True)
    assert line.owner is not None
    assert line.owner_id is not None
    now = timezone.now()
    usage_applied(line, at=now - timedelta(minutes=2), amount=60, kind="voice", country="CN")
    usage_applied(line, at=now - timedelta(days=2), amount=1, kind="sms", country="CN")  # late, from two days ago

    assert [getattr(found, "usage_updated_at") for found in lines_with_freshness(owner_id=line.owner_id)] == [  # noqa: B009
        now - timedelta(minutes=2)
    ]
    (desk,) = lines_for_desk(user=line.owner)
    assert desk.last_usage is not None
    assert (desk.last_usage.at, desk.last_usage.kind, desk.last_usage.amount) == (
        now - timedelta(minutes=2),
        "voice",
        60,
    )


def test_a_line_deleted_takes_its_records_with_it():
    """No foreign key in the database: Django's delete still takes the records (none left
    pointing at nothing). A line with orders cannot be deleted at all (billing protects it)."""
    gone, kept_line = LineFactory.create(owned=True), LineFactory.create(owned=True)
    usage_applied(gone, at=timezone.now())
    usage_applied(kept_line, at=timezone.now())

    gone.delete()

    assert list(UsageRecord.objects.values_list("line_id", flat=True)) == [kept_line.pk]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_each_lines_newest_record_on_its_day():
    """Run 0006 backwards and forwards over records stored the old way: each line's newest record
    lands on its day's row, which is made at zero where the records had none."""
    before, after = ("plans", "0005_usage_batch_records_as_json"), ("plans", "0006_last_usage_on_daily_totals")
    now = timezone.now()
    used, quiet, never = (LineFactory.create(owned=True) for _ in range(3))
    usage_applied(used, at=now - timedelta(minutes=5), amount=9, kind="data", country="HK")
    usage_applied(used, at=now - timedelta(hours=30), amount=2, kind="sms", country="CN")
    usage_applied(quiet, at=now - timedelta(days=3), amount=120, kind="voice", country="JP")
    DailyUsage.objects.filter(line=quiet).delete()  # a day the old code kept no row for

    executor = MigrationExecutor(connection)
    executor.migrate([before])
    executor.loader.build_graph()
    executor.migrate([after])

    assert DailyUsage.objects.filter(line=never).count() == 0
    assert kept(used)[-1] == (usage_day(now - timedelta(minutes=5)), now - timedelta(minutes=5), "data", 9, "HK")
    assert DailyUsage.objects.filter(line=used).exclude(last_at=None).count() == 1  # only each line's newest
    quiet_day = DailyUsage.objects.get(line=quiet)
    assert (quiet_day.day, quiet_day.data, quiet_day.voice) == (usage_day(now - timedelta(days=3)), 0, 0)
    assert (quiet_day.last_at, quiet_day.last_kind, quiet_day.last_amount) == (now - timedelta(days=3), "voice", 120)


def test_staff_find_a_record_by_its_exact_id_not_by_a_scan_of_the_records(client, staff):
    """The records' admin searches their unique index only: a line's use is in its daily totals."""
    log_in_with_second_step(client, staff)
    line = LineFactory.create(owned=True)
    usage_applied(line, at=timezone.now())
    record = UsageRecord.objects.get(line=line)
    listed = reverse("admin:plans_usagerecord_changelist")

    with CaptureQueriesContext(connection) as queries:
        found = client.get(listed, {"q": record.record_id})
    assert list(found.context["cl"].result_list) == [record]
    searched = [query["sql"] for query in queries.captured_queries if "plans_usagerecord" in query["sql"]]
    assert searched
    assert all("LIKE" not in sql.upper() for sql in searched)
    assert list(client.get(listed, {"q": record.record_id[:-1]}).context["cl"].result_list) == []
    assert list(client.get(listed, {"q": line.msisdn.as_e164}).context["cl"].result_list) == []
    days = client.get(reverse("admin:plans_dailyusage_changelist"), {"q": line.msisdn.as_e164})
    assert [day.line_id for day in days.context["cl"].result_list] == [line.pk]
