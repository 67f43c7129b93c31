"""The run-out forecast (plans.forecast): pure functions over daily totals and allowances."""

import random
from datetime import date, timedelta

from plans.forecast import Allowance, daily_pace, forecast

GB = 1024**3
TODAY = date(2026, 12, 2)  # a Wednesday
ENDS = date(2026, 12, 20)


def steady(amount: int, days: int) -> dict[date, int]:
    return {TODAY - timedelta(days=n): amount for n in range(1, days + 1)}


def test_steady_use_runs_out_when_the_allowance_is_spent():
    # 3 GB left at 0.5 GB a day: today, then 5 more days; the 7th day (8 December) finds none.
    result = forecast(used=steady(GB // 2, 7), today=TODAY, allowances=[Allowance(ENDS, 3 * GB)], ends_on=ENDS)
    assert result.known
    assert result.runs_out_on == date(2026, 12, 8)
    assert result.days_early == 12
    assert result.worth_an_alert


def test_what_today_already_used_counts_against_today():
    used = {**steady(GB // 2, 7), TODAY: GB // 2}
    result = forecast(used=used, today=TODAY, allowances=[Allowance(ENDS, 3 * GB)], ends_on=ENDS)
    # Today's share is used already: the 3 GB last from tomorrow for 6 days.
    assert result.runs_out_on == date(2026, 12, 9)


def test_a_line_that_lasts_has_no_date():
    result = forecast(used=steady(GB // 2, 7), today=TODAY, allowances=[Allowance(ENDS, 30 * GB)], ends_on=ENDS)
    assert result.known
    assert result.lasts
    assert result.runs_out_on is None
    assert result.days_early == 0
    assert not result.worth_an_alert


def test_one_burst_does_not_decide_the_pace():
    used = steady(GB // 2, 7)
    used[TODAY - timedelta(days=2)] = 12 * GB  # a film downloaded on the wrong network
    result = forecast(used=used, today=TODAY, allowances=[Allowance(ENDS, 3 * GB)], ends_on=ENDS)
    assert result.runs_out_on == date(2026, 12, 8)  # as if the day were like the others


def test_a_heavier_week_moves_the_date():
    result = forecast(used=steady(GB, 7), today=TODAY, allowances=[Allowance(ENDS, 3 * GB)], ends_on=ENDS)
    assert result.runs_out_on == date(2026, 12, 5)


def test_too_little_history_says_nothing():
    for used in ({}, {TODAY: 5 * GB}, steady(GB, 2)):
        result = forecast(used=used, today=TODAY, allowances=[Allowance(ENDS, GB)], ends_on=ENDS)
        assert not result.known
        assert result.runs_out_on is None
        assert not result.lasts
        assert not result.worth_an_alert


def test_a_new_line_is_paced_by_the_days_it_was_used():
    # First used 3 days ago, 1 GB a day: the pace is 1 GB, not 3 GB spread over a week.
    result = forecast(used=steady(GB, 3), today=TODAY, allowances=[Allowance(ENDS, 4 * GB)], ends_on=ENDS)
    assert result.runs_out_on == date(2026, 12, 6)


def test_a_pack_bought_today_moves_the_date():
    before = forecast(used=steady(GB // 2, 7), today=TODAY, allowances=[Allowance(ENDS, 3 * GB)], ends_on=ENDS)
    after = forecast(
        used=steady(GB // 2, 7),
        today=TODAY,
        allowances=[Allowance(ENDS, 3 * GB), Allowance(TODAY + timedelta(days=30), 5 * GB)],
        ends_on=ENDS,
    )
    assert after.runs_out_on == before.runs_out_on + timedelta(days=10)  # type: ignore[operator]


def test_an_allowance_that_ends_first_is_used_first_and_lost_after():
    # 4 GB ending on 4 December can give only 3 days' use (2, 3, 4 December); 1 GB is lost.
    result = forecast(
        used=steady(GB // 2, 7),
        today=TODAY,
        allowances=[Allowance(date(2026, 12, 4), 4 * GB), Allowance(ENDS, GB)],
        ends_on=ENDS,
    )
    # 2-4 December from the first; 5 and 6 December from the second; 7 December finds none.
    assert result.runs_out_on == date(2026, 12, 7)


def test_the_day_of_the_week_weighs_once_there_are_four_weeks():
    friday = date(2026, 12, 4)
    # Four weeks of 1 GB on weekdays and nothing at weekends.
    used = {}
    for n in range(1, 29):
        day = friday - timedelta(days=n)
        used[day] = GB if day.weekday() < 5 else 0
    pace = daily_pace(used, friday)
    assert pace is not None
    assert pace[5] < pace[0] / 3  # Saturday well under Monday
    result = forecast(used=used, today=friday, allowances=[Allowance(ENDS, 3 * GB // 2)], ends_on=ENDS)
    # The weekend uses little: 1.5 GB lasts Friday to Sunday and runs out on Monday.
    assert result.runs_out_on == date(2026, 12, 7)
    # Three weeks of the same history give no weekday profile: every day alike, Sunday.
    recent = {day: amount for day, amount in used.items() if (friday - day).days <= 21}
    flat = forecast(used=recent, today=friday, allowances=[Allowance(ENDS, 3 * GB // 2)], ends_on=ENDS)
    assert flat.runs_out_on == date(2026, 12, 6)


def test_nothing_to_forecast_without_an_allowance_or_an_end():
    assert not forecast(used=steady(GB, 7), today=TODAY, allowances=[], ends_on=ENDS).known
    assert not forecast(used=steady(GB, 7), today=TODAY, allowances=[Allowance(ENDS, GB)], ends_on=None).known


def _reference_pace(used: dict[date, int], today: date) -> dict[int, float] | None:
    """The pace as the module's docstring says it, day by day in dates: what daily_pace, which
    counts days as ordinals, must give exactly."""
    first = min((day for day, amount in used.items() if amount > 0 and day < today), default=None)
    if first is None or (today - first).days < 3:
        return None
    history = (today - first).days
    days = min(7, history)
    week = sorted(used.get(today - timedelta(days=n), 0) for n in range(1, days + 1))
    week = week[:-1] if days >= 4 else week
    mean = sum(week) / len(week)
    weights = dict.fromkeys(range(7), 1.0)
    if history >= 28:
        by_weekday = [0] * 7
        for n in range(1, 29):
            day = today - timedelta(days=n)
            by_weekday[day.weekday()] += used.get(day, 0)
        if day_mean := sum(by_weekday) / 28:
            for weekday in range(7):
                weights[weekday] = min(max(by_weekday[weekday] / 4 / day_mean, 1 / 4), 4.0)
    return {weekday: mean * weight for weekday, weight in weights.items()}


def _reference_runs_out(used: dict[date, int], today: date, allowances: list[Allowance], ends_on: date) -> date | None:
    pace = _reference_pace(used, today)
    assert pace is not None
    left = {allowance: float(allowance.left) for allowance in sorted(allowances, key=lambda a: a.ends_on)}
    day, need = today, max(0.0, pace[today.weekday()] - used.get(today, 0))
    while day <= ends_on:
        for allowance in left:
            if allowance.ends_on >= day:
                taken = min(left[allowance], need)
                left[allowance] -= taken
                need -= taken
        if need > 0.5:
            return day
        day += timedelta(days=1)
        need = pace[day.weekday()]
    return None


def test_the_pace_and_the_date_are_the_ones_counted_day_by_day():
    # Many histories (short and long, gaps, days after today, zeros), allowances and ends.
    chance = random.Random(17)
    dated = 0
    for _ in range(3_000):
        today = TODAY + timedelta(days=chance.randint(0, 400))
        used = {
            today - timedelta(days=n): chance.choice([0, chance.randint(1, 500), chance.randint(1, 3 * GB)])
            for n in range(-1, chance.choice([2, 3, 6, 20, 29, 60]))
            if chance.random() < 0.8
        }
        allowances = [
            Allowance(today + timedelta(days=chance.randint(-1, 40)), chance.randint(0, 20 * GB))
            for _ in range(chance.randint(1, 3))
        ]
        ends_on = today + timedelta(days=chance.randint(-1, 40))
        assert daily_pace(used, today) == _reference_pace(used, today)
        result = forecast(used=used, today=today, allowances=allowances, ends_on=ends_on)
        assert result.known == (_reference_pace(used, today) is not None)
        if result.known:
            assert result.runs_out_on == _reference_runs_out(used, today, allowances, ends_on)
            dated += result.runs_out_on is not None
    assert 300 < dated < 2_700  # both answers are well represented
