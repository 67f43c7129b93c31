"""Buying a recommendation whole: the plan, top-ups and roaming packs the calculator suggested, in
one order for one of the customer's lines, paid once. The browser sends only plan codes, counts
and flexible amounts (``plans.basket``); every price is the catalogue's, looked up here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from billing.models import Order
from billing.services.items import ItemPrice, item_priced, items_in_grant_order
from billing.services.opening import order_open
from plans.basket import BasketEntry, basket_entry_parse
from plans.models import Line, Plan
from plans.pricing import FlexibleChoice

MAX_ENTRIES = 8  # a home plan, a top-up, and a pack for each of the calculator's trips, with room
MAX_COUNT = 10  # of one plan in one entry
MAX_UNITS = 20  # in one order


@dataclass(frozen=True)
class SuggestionEntry:
    """``count`` of one plan at the catalogue's price each."""

    plan: Plan
    count: int
    unit_minor: int
    choice: FlexibleChoice | None = None
    in_turn: bool = False  # each copy starts when the one before ends

    @property
    def amount_minor(self) -> int:
        return self.unit_minor * self.count

    @property
    def flex_data_gb(self) -> int | None:
        return self.choice.data_gb if self.choice else None

    @property
    def flex_minutes(self) -> int | None:
        return self.choice.minutes if self.choice else None


@dataclass(frozen=True)
class Suggestion:
    """What the customer is about to buy, priced in ``currency``: the base plan first."""

    entries: tuple[SuggestionEntry, ...]
    currency: str

    @property
    def total_minor(self) -> int:
        return sum(entry.amount_minor for entry in self.entries)

    @property
    def items(self) -> list[ItemPrice]:
        """One item per unit, in the order they are granted."""
        return [
            ItemPrice(
                plan=entry.plan,
                amount_minor=entry.unit_minor,
                currency=self.currency,
                choice=entry.choice,
                in_turn=entry.in_turn,
            )
            for entry in self.entries
            for _copy in range(entry.count)
        ]


def _refused(message: str, code: str) -> ValidationError:
    return ValidationError(_("This suggestion cannot be bought: %(reason)s") % {"reason": message}, code=code)


def suggestion_price(*, texts: Sequence[str], currency: str) -> Suggestion:
    """The suggestion carried by ``texts`` (the URL's ``item`` parameters), each plan checked and
    priced from the catalogue in ``currency``. ValidationError, with a message for the customer,
    when it is malformed, empty or too long, names a plan not on sale (in that currency), a count
    outside 1..10, flexible amounts outside the plan's bounds (or on a plan that has none), copies
    one after another of anything but an add-on pack, or more than one home plan."""
    if not texts:
        raise _refused(_("it is empty."), "empty")
    if len(texts) > MAX_ENTRIES:
        raise _refused(_("it has too many parts."), "too_many")
    entries: list[BasketEntry] = []
    for text in texts:
        entry = basket_entry_parse(text)
        if entry is None:
            raise _refused(_("part of it is not written as expected."), "malformed")
        if not 1 <= entry.count <= MAX_COUNT:
            raise _refused(_("each plan can be bought 1 to %(most)d times.") % {"most": MAX_COUNT}, "count")
        entries.append(entry)
    if sum(entry.count for entry in entries) > MAX_UNITS:
        raise _refused(_("it has too many parts."), "too_many")
    plans = {plan.code: plan for plan in Plan.objects.filter(code__in={entry.code for entry in entries})}
    priced = []
    for entry in entries:
        plan = plans.get(entry.code)
        if plan is None or not plan.is_active:
            raise _refused(_("a plan in it is no longer on sale."), "not_on_sale")
        if (entry.choice is not None) != plan.is_flexible or (plan.is_flexible and entry.count != 1):
            raise _refused(_("the flexible plan's amounts are missing or misplaced."), "flexible")
        if entry.in_turn and not plan.is_addon:
            raise _refused(_("only add-on packs can run one after another."), "in_turn")
        try:
            item = item_priced(plan=plan, currency=currency, choice=entry.choice)
        except ValidationError as error:
            raise _refused(" ".join(error.messages), error.code or "price") from None
        priced.append(
            SuggestionEntry(
                plan=plan, count=entry.count, unit_minor=item.amount_minor, choice=entry.choice, in_turn=entry.in_turn
            )
        )
    if sum(1 for entry in priced if not entry.plan.is_addon) > 1:
        raise _refused(_("it has more than one home plan."), "two_home_plans")
    ordered = sorted(priced, key=lambda entry: entry.plan.is_addon)
    return Suggestion(entries=tuple(ordered), currency=currency)


def suggestion_order_start(*, user: User, line: Line, suggestion: Suggestion) -> Order:
    """One order for ``line`` that buys every unit of ``suggestion`` and charges the total, with
    its PaymentIntent (``order_open``: an open order for the same is reused, another replaced)."""
    items = items_in_grant_order(suggestion.items)
    return order_open(user=user, line=line, items=items)
