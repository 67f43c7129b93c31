"""Which day a record's usage counts on (``plans.usage.apply._line_date``), worked out once per run
of a line's records in a day rather than once per record: the same day as ``usage_day`` gives
each record, in zones whose clocks change at or around midnight too."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plans.usage.apply import _Line, _line_date
from plans.usage.records import UsageIn

KINDS = ("data", "voice", "sms")
SLOT = {"data": 0, "voice": 1, "sms": 2}


def records(rng: random.Random, around: datetime, count: int) -> list[UsageIn]:
    """``count`` records within four days either side of ``around``, some at the same time."""
    made: list[UsageIn] = []
    for index in range(count):
        at = around + timedelta(seconds=rng.randrange(-4 * 86400, 4 * 86400))
        if made and rng.random() < 0.1:
            at = made[-1].at
        kind = rng.choice(KINDS)
        made.append(UsageIn(index, f"r{index}", "+85255500000", None, kind, rng.randrange(1, 1000), "HK", at))
    return made


# Each zone around a change of its clocks: Shanghai none (the usage day's zone), London at 01:00,
# Santiago at midnight (the day starts at 01:00 in September), Cairo at midnight (falling back in
# October: 23:00-24:00 comes twice), Lord Howe by half an hour.
CHANGES = [
    ("Asia/Shanghai", datetime(2026, 12, 3, 16, tzinfo=UTC)),
    ("Europe/London", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/London", datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("America/Santiago", datetime(2026, 9, 6, 4, tzinfo=UTC)),
    ("America/Santiago", datetime(2026, 4, 5, 3, tzinfo=UTC)),
    ("Africa/Cairo", datetime(2026, 10, 29, 21, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone_name", "around"), CHANGES)
def test_each_record_counts_on_its_own_day_and_each_day_keeps_its_newest(zone_name, around):
    zone = ZoneInfo(zone_name)
    rng = random.Random(f"{zone_name} {around}")
    line = _Line(pk=7, owner_id=None, records=records(rng, around, 2_000))
    days: dict[tuple[int, date], list[int]] = {}
    newest: dict[tuple[int, date], UsageIn] = {}
    _line_date(line, zone, days, newest)

    in_order = sorted(line.records, key=lambda record: (record.at, record.index))
    assert [record for record, _, _ in line.dated] == in_order
    expected_days = {(7, record.at.astimezone(zone).date()) for record in in_order}
    assert set(days) == expected_days
    for record, slot, totals in line.dated:
        assert slot == SLOT[record.kind]
        assert totals is days[7, record.at.astimezone(zone).date()]
    for key in expected_days:
        on_day = [record for record in in_order if (7, record.at.astimezone(zone).date()) == key]
        assert newest[key] is on_day[-1]
