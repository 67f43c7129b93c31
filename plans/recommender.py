"""Which plan suits a customer: the cheapest mix of what we sell that covers a month's use.

Pure functions over plan objects as ``selectors.catalogue(currency=...)`` returns them (each with
its price in the currency as ``plan.price_in``); nothing here reads the database.

How a month is counted, the same way for every plan:

- A plan's allowance counts at its daily rate over 30 days: ``allowance * 30 / validity_days``.
- A plan valid for 30 days or more costs ``price * 30 / validity_days`` a month, rounded up to the
  minor unit. A shorter plan must be bought whole, ``ceil(30 / validity_days)`` times a month.
- The home plan (and its data top-ups) covers the whole month's data, minutes and SMS: home
  allowance also works abroad, so the packs for a trip come on top of it. Each trip also gets the
  cheapest roaming packs that last its days (``ceil(days / validity_days)`` packs) and hold the data
  used there (``data * days / 30``), buying more packs if the data needs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import ceil, floor

from django.core.exceptions import ValidationError
from django.utils import translation

from boomcard.formats import country_name, is_country_code
from plans.models import GB, Plan, Price
from plans.pricing import FlexibleChoice, Money, price_of

MONTH_DAYS = 30
USAGE_MONTHS = 3  # the usage a logged-in customer starts from: the last 90 days
BASE_KINDS = (Plan.Kind.BASIC, Plan.Kind.BIG_DATA)


@dataclass(frozen=True)
class Trip:
    country: str  # ISO code
    days: int


@dataclass(frozen=True)
class Need:
    """What a customer uses in a month."""

    data_gb: Decimal = Decimal(0)
    minutes: int = 0
    sms: int = 0
    trips: tuple[Trip, ...] = ()

    @property
    def data_mb(self) -> int:
        return ceil(Fraction(self.data_gb) * 1024)

    def data_abroad_mb(self, trip: Trip) -> int:
        """The share of the month's data used on ``trip``."""
        return ceil(Fraction(self.data_gb) * 1024 * trip.days / MONTH_DAYS)

    @property
    def is_empty(self) -> bool:
        return not (self.data_gb or self.minutes or self.sms or self.trips)


@dataclass(frozen=True)
class Item:
    """Something to buy each month: ``quantity`` of ``plan`` for ``cost_minor`` in all."""

    plan: Plan
    quantity: int
    cost_minor: int
    choice: FlexibleChoice | None = None  # the amounts, for the flexible plan
    trip: Trip | None = None  # the trip a roaming pack is for
    in_turn: bool = False  # its copies run one after another (bought for the days), not side by side


@dataclass(frozen=True)
class Option:
    """A home plan (with any top-ups) and the packs for each trip, and what they give a month."""

    items: tuple[Item, ...]
    currency: str
    data_mb: int  # home allowance a month, rounded down
    minutes: int
    sms: int
    covers: bool
    coverage: Fraction = field(repr=False)  # how much of the need it meets, to find the closest
    extra_minor: int = 0  # what it costs more than the recommended option

    @property
    def cost_minor(self) -> int:
        return sum(item.cost_minor for item in self.items)

    @property
    def cost(self) -> Money:
        return Money(self.cost_minor, self.currency)

    @property
    def plan(self) -> Plan:
        """The home plan the option is built on."""
        return self.items[0].plan

    @property
    def quantity(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def data_bytes(self) -> int:
        return self.data_mb * 1024 * 1024


@dataclass(frozen=True)
class Recommendation:
    need: Need
    currency: str
    best: Option | None  # None only when nothing is on sale in the currency
    alternatives: tuple[Option, ...]  # the next two options that also cover the need

    @property
    def covers(self) -> bool:
        return self.best is not None and self.best.covers

    @property
    def options(self) -> tuple[Option, ...]:
        """The recommended option, then the alternatives."""
        return ((self.best,) if self.best else ()) + self.alternatives


def plan_recommend(*, need: Need, plans: Iterable[Plan], currency: str) -> Recommendation:
    """The cheapest option that covers ``need`` and the next two; or, when nothing covers it, the
    closest option and no alternatives; or no option when nothing is on sale in ``currency``.
    Why, in words, is ``plans.recommendation_text.recommendation_why``."""
    options = options_for(need=need, plans=plans, currency=currency)
    if not options:
        return Recommendation(need=need, currency=currency, best=None, alternatives=())
    best = options[0]
    if not best.covers:
        return Recommendation(need=need, currency=currency, best=best, alternatives=())
    alternatives = tuple(
        dataclasses.replace(option, extra_minor=option.cost_minor - best.cost_minor)
        for option in options[1:3]
        if option.covers
    )
    return Recommendation(need=need, currency=currency, best=best, alternatives=alternatives)


def options_for(*, need: Need, plans: Iterable[Plan], currency: str) -> list[Option]:
    """One option per home plan on sale in ``currency`` (the base plan with the cheapest top-ups
    for the data it lacks; the flexible plan with the least amounts that cover the need), each with
    the packs for the trips. Those that cover the need come first, cheapest first; then the rest,
    closest first. Ties go to fewer purchases, then the catalogue's order."""
    priced = [(plan, price) for plan in plans if plan.is_active and (price := _price(plan, currency))]
    bases = [(plan, price) for plan, price in priced if not plan.is_addon and plan.kind in BASE_KINDS]
    flexibles = [(plan, price) for plan, price in priced if plan.is_flexible]
    top_ups = [(plan, price) for plan, price in priced if plan.is_addon and not plan.countries and plan.data_mb]
    roaming = [(plan, price) for plan, price in priced if plan.is_addon and plan.countries]

    trip_items: list[Item] = []
    trips_covered = 0
    for trip in need.trips:
        pack = _trip_packs(need, trip, roaming)
        if pack is not None:
            trip_items.append(pack)
            trips_covered += 1

    homes = [_base_items(need, plan, price, top_ups) for plan, price in bases]
    homes += [items for plan, price in flexibles if (items := _flexible_items(need, plan, price))]
    options = [_option(need, currency, home, trip_items, trips_covered) for home in homes]
    return sorted(options, key=_rank)


@dataclass(frozen=True)
class PlanFit:
    """How a line's own plan did for the use of its last months (``months``): whether its data
    ran out before each month ended (``runs_out``: the plan alone holds less than the average
    month's data), and what the recommended plan would have saved over those months
    (``saved_minor``, 0 when staying, top-ups and all, costs least)."""

    plan: Plan
    better: Plan | None
    runs_out: bool
    saved_minor: int
    currency: str
    months: int


def plan_fit(
    *, need: Need, current: Plan, plans: Iterable[Plan], currency: str, months: int = USAGE_MONTHS
) -> PlanFit | None:
    """The line's plan ``current`` against the cheapest option that covers ``need`` (a month's
    average of the line's use over ``months``): the same option the page recommends, priced the
    same way. None when ``current`` is not a base plan on sale in ``currency``."""
    if current.is_flexible or current.kind not in BASE_KINDS:
        return None
    options = options_for(need=need, plans=plans, currency=currency)
    mine = next((option for option in options if option.plan.pk == current.pk), None)
    if mine is None:
        return None
    runs_out = need.data_mb > _per_month(current, current.data_mb)
    best = next((option for option in options if option.covers), None)
    if not runs_out or best is None or best.plan.pk == current.pk or best.cost_minor >= mine.cost_minor:
        return PlanFit(plan=current, better=None, runs_out=runs_out, saved_minor=0, currency=currency, months=months)
    saved = (mine.cost_minor - best.cost_minor) * months
    return PlanFit(plan=current, better=best.plan, runs_out=True, saved_minor=saved, currency=currency, months=months)


def roaming_countries(plans: Iterable[Plan]) -> list[str]:
    """The countries the roaming packs on sale cover, pack by pack in the catalogue's order, each
    pack's countries by name. A stored code that is not an ISO country (saved before the admin
    checked them; the catalogue check page lists it) is never offered."""
    packs = tuple(
        tuple(code for code in plan.countries if isinstance(code, str))  # hashable: a key below
        for plan in plans
        if plan.is_active and plan.is_addon and plan.countries
    )
    return list(_countries_of(packs, translation.get_language()))


@lru_cache(maxsize=64)
def _countries_of(packs: tuple[tuple[str, ...], ...], language: str | None) -> tuple[str, ...]:
    """``roaming_countries`` of these packs' countries, sorted by their names in ``language`` (the
    active one: the key of each process's copy, since the order depends on it)."""
    codes: list[str] = []
    for countries in packs:
        new = {code for code in countries if is_country_code(code) and code not in codes}
        codes += sorted(new, key=country_name)
    return tuple(codes)


def need_from_usage(*, data_bytes: int, voice_seconds: int, sms: int, months: int = USAGE_MONTHS) -> Need:
    """A month's average of the usage over ``months``: data in GB rounded up to one decimal,
    voice rounded up to whole minutes, SMS rounded up."""
    tenths = ceil(Fraction(max(data_bytes, 0) * 10, months * GB))
    return Need(
        data_gb=Decimal(tenths) / 10,
        minutes=ceil(Fraction(max(voice_seconds, 0), months * 60)),
        sms=ceil(Fraction(max(sms, 0), months)),
    )


def _price(plan: Plan, currency: str) -> Price | None:
    prices: list[Price] | None = getattr(plan, "price_in", None)
    if prices is None:
        raise ValueError("plans come from selectors.catalogue(currency=...), with plan.price_in")
    return next((price for price in prices if price.currency == currency), None)


def _monthly_item(plan: Plan, amount_minor: int, copies: int = 1, *, choice: FlexibleChoice | None = None) -> Item:
    """``copies`` of ``plan`` held all month: pro rata when it lasts a month or more, else bought
    whole as often as a month needs."""
    days = plan.validity_days
    if days >= MONTH_DAYS:
        return Item(plan, copies, ceil(Fraction(amount_minor * copies * MONTH_DAYS, days)), choice=choice)
    buys = ceil(Fraction(MONTH_DAYS, days))
    return Item(plan, copies * buys, amount_minor * copies * buys, choice=choice)


def _per_month(plan: Plan, amount: int, copies: int = 1) -> Fraction:
    return Fraction(amount * copies * MONTH_DAYS, plan.validity_days)


@dataclass(frozen=True)
class _Home:
    items: tuple[Item, ...]
    data_mb: Fraction
    minutes: Fraction
    sms: Fraction


def _base_items(need: Need, plan: Plan, price: Price, top_ups: Sequence[tuple[Plan, Price]]) -> _Home:
    base = _monthly_item(plan, price.amount_minor)
    data, minutes, sms = (_per_month(plan, amount) for amount in (plan.data_mb, plan.minutes, plan.sms))
    missing = need.data_mb - data
    if missing <= 0 or not top_ups:
        return _Home((base,), data, minutes, sms)
    candidates = []
    for top_up, top_up_price in top_ups:
        copies = ceil(missing / _per_month(top_up, top_up.data_mb))
        candidates.append((_monthly_item(top_up, top_up_price.amount_minor, copies), copies))
    item, copies = min(candidates, key=lambda c: (c[0].cost_minor, c[0].quantity, c[0].plan.sort_order, c[0].plan.code))
    top_up = item.plan
    return _Home(
        (base, item),
        data + _per_month(top_up, top_up.data_mb, copies),
        minutes + _per_month(top_up, top_up.minutes, copies),
        sms + _per_month(top_up, top_up.sms, copies),
    )


def _flexible_items(need: Need, plan: Plan, price: Price) -> _Home | None:
    """The flexible plan with the least amounts that cover the need (whole GB, minutes in
    hundreds); held at its largest when the need is beyond its bounds, as a closest option."""
    gb = min(max(ceil(need.data_gb), plan.flex_data_gb_min), plan.flex_data_gb_max)
    minutes = min(
        max(_hundreds_up(need.minutes), _hundreds_up(plan.flex_minutes_min)), plan.flex_minutes_max // 100 * 100
    )
    choice = FlexibleChoice(data_gb=gb, minutes=minutes)
    try:
        amount = price_of(price, choice).amount_minor
    except ValidationError:  # bounds that no choice in hundreds of minutes fits
        return None
    item = _monthly_item(plan, amount, choice=choice)
    return _Home((item,), _per_month(plan, gb * 1024), _per_month(plan, minutes), _per_month(plan, plan.sms))


def _hundreds_up(minutes: int) -> int:
    return ceil(Fraction(minutes, 100)) * 100


def _trip_packs(need: Need, trip: Trip, roaming: Sequence[tuple[Plan, Price]]) -> Item | None:
    """The cheapest packs of one kind that last the trip and hold the data used on it. Copies
    bought for the days run one after another (``in_turn``); copies bought for the data run side
    by side, from the start."""
    data_mb = need.data_abroad_mb(trip)
    candidates = []
    for plan, price in roaming:
        if trip.country not in plan.countries or (data_mb and not plan.data_mb):
            continue
        for_days = ceil(Fraction(trip.days, plan.validity_days))
        for_data = ceil(Fraction(data_mb, plan.data_mb)) if data_mb else 0
        count = max(for_days, for_data)
        in_turn = count > 1 and for_days >= for_data  # bought to last the days: each starts when one ends
        candidates.append(Item(plan, count, count * price.amount_minor, trip=trip, in_turn=in_turn))
    return min(candidates, key=lambda i: (i.cost_minor, i.quantity, i.plan.sort_order, i.plan.code), default=None)


def _option(need: Need, currency: str, home: _Home, trip_items: list[Item], trips_covered: int) -> Option:
    shares = [min(have / wanted, Fraction(1)) for have, wanted in _wants(need, home) if wanted]
    coverage = sum(shares, Fraction(trips_covered))
    covers = all(have >= wanted for have, wanted in _wants(need, home)) and trips_covered == len(need.trips)
    return Option(
        items=home.items + tuple(trip_items),
        currency=currency,
        data_mb=floor(home.data_mb),
        minutes=floor(home.minutes),
        sms=floor(home.sms),
        covers=covers,
        coverage=coverage,
    )


def _wants(need: Need, home: _Home) -> list[tuple[Fraction, int]]:
    return [(home.data_mb, need.data_mb), (home.minutes, need.minutes), (home.sms, need.sms)]


def _rank(option: Option) -> tuple[bool, Fraction, int, int, int, str]:
    closeness = Fraction(0) if option.covers else -option.coverage
    return (
        not option.covers,
        closeness,
        option.cost_minor,
        option.quantity,
        option.plan.sort_order,
        option.plan.code,
    )
