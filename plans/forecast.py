"""When a line's data (or talk time) runs out at the customer's own pace.

Pure functions over a line's daily totals (``DailyUsage``, days in the carrier's time zone) and
what is left in its live home buckets; nothing here reads the database.

The pace, chosen to be robust rather than clever:

- **The last 7 whole days** (today, still going, is not one of them), their mean with the
  busiest day left out: one heavy day (a film downloaded on hotel wi-fi gone wrong) does not
  move the date by a week, while a heavier week does.
- **The day of the week**, once the line has 4 whole weeks of history: each weekday weighs what
  it weighed over those 4 weeks (a commuter's weekdays against their weekends), within 1/4 and 4
  times the mean, so that one odd Sunday does not decide every Sunday.
- **Too little history says nothing**: a line first used less than 3 whole days ago has no
  forecast (``Forecast.known`` is False) rather than a guess from a day.

Then the days ahead are walked from now: the rest of today at its pace less what today already
used, then each day in turn, taken from the allowance that ends first (an allowance that ends
before it is used up is lost, as on the network), until nothing is left or the plan ends. The
day it runs out is the first day whose use the allowances cannot meet. A pack bought today adds
an allowance, and so moves the date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

PACE_DAYS = 7
MIN_HISTORY_DAYS = 3
WEEKDAY_HISTORY_DAYS = 28
# What one weekday may weigh against the mean day, at most (and 1 over it at least).
WEEKDAY_WEIGHT_LIMIT = 4
# The history a forecast reads: the weekday profile's 4 weeks, and today.
HISTORY_DAYS = WEEKDAY_HISTORY_DAYS + 1
# A forecast that ends this many days or more before the plan does is worth an alert.
ALERT_DAYS_EARLY = 3


@dataclass(frozen=True)
class Allowance:
    """What is left of the home allowances that end on one day."""

    ends_on: date
    left: int


@dataclass(frozen=True)
class Forecast:
    """``runs_out_on``: the day the allowance is used up at this pace, or None when it lasts until
    the plan ends (``ends_on``). ``known`` is False when there is too little history to say."""

    known: bool
    ends_on: date | None = None
    runs_out_on: date | None = None

    @property
    def lasts(self) -> bool:
        return self.known and self.runs_out_on is None

    @property
    def days_early(self) -> int:
        """How many days before the plan ends the allowance runs out (0 when it lasts)."""
        if self.runs_out_on is None or self.ends_on is None:
            return 0
        return max(0, (self.ends_on - self.runs_out_on).days)

    @property
    def worth_an_alert(self) -> bool:
        return self.days_early >= ALERT_DAYS_EARLY


UNKNOWN = Forecast(known=False)
# A day's use short by less than this (a byte, a second) is met: the pace is a float.
UNMET = 0.5


def daily_pace(used: Mapping[date, int], today: date) -> dict[int, float] | None:
    """The use expected on each weekday (0 is Monday), from ``used`` (a day's total by day, days
    with no use may be missing); None when the line was first used less than
    ``MIN_HISTORY_DAYS`` whole days ago."""
    # Each whole day before today by how many days back it is (1 is yesterday): days as ordinals,
    # since this runs for every line on every first view of the home page.
    today_number = today.toordinal()
    back = [0] * (WEEKDAY_HISTORY_DAYS + 1)
    history = 0  # how many days ago the line was first used
    for day, amount in used.items():
        ago = today_number - day.toordinal()
        if ago > 0:
            if amount > 0 and ago > history:
                history = ago
            if ago <= WEEKDAY_HISTORY_DAYS:
                back[ago] = amount
    if history < MIN_HISTORY_DAYS:
        return None
    # The days since the line was first used, at most a week; the busiest left out of four or more.
    days = min(PACE_DAYS, history)
    week = sorted(back[1 : days + 1])
    if days >= 4:
        week = week[:-1]
    mean = sum(week) / len(week)
    weights = dict.fromkeys(range(7), 1.0)
    if history >= WEEKDAY_HISTORY_DAYS:
        # Each weekday's total over the last four weeks, in one pass.
        by_weekday = [0] * 7
        today_weekday = today.weekday()
        for ago in range(1, WEEKDAY_HISTORY_DAYS + 1):
            by_weekday[(today_weekday - ago) % 7] += back[ago]
        day_mean = sum(by_weekday) / WEEKDAY_HISTORY_DAYS
        if day_mean:
            low, high = 1 / WEEKDAY_WEIGHT_LIMIT, float(WEEKDAY_WEIGHT_LIMIT)
            for weekday in range(7):
                weekday_mean = by_weekday[weekday] / 4
                weights[weekday] = min(max(weekday_mean / day_mean, low), high)
    return {weekday: mean * weight for weekday, weight in weights.items()}


def forecast(
    *, used: Mapping[date, int], today: date, allowances: Sequence[Allowance], ends_on: date | None
) -> Forecast:
    """When the ``allowances`` (by the day each ends, in order) run out at the line's pace, from
    ``today`` until the plan ends on ``ends_on``."""
    if ends_on is None or not allowances:
        return UNKNOWN
    pace = daily_pace(used, today)
    if pace is None:
        return UNKNOWN
    ordered = sorted(allowances, key=lambda allowance: allowance.ends_on)
    # Days as ordinals, as in daily_pace.
    ends = [allowance.ends_on.toordinal() for allowance in ordered]
    left = [float(allowance.left) for allowance in ordered]
    day, last, weekday = today.toordinal(), ends_on.toordinal(), today.weekday()
    need = max(0.0, pace[weekday] - used.get(today, 0))
    while day <= last:
        for n, last_day in enumerate(ends):
            if last_day >= day:  # an allowance is usable until the end of the day it ends
                taken = min(left[n], need)
                left[n] -= taken
                need -= taken
        if need > UNMET:
            return Forecast(known=True, ends_on=ends_on, runs_out_on=date.fromordinal(day))
        day += 1
        weekday = (weekday + 1) % 7
        need = pace[weekday]
    return Forecast(known=True, ends_on=ends_on)
