"""What a plan costs. Prices come from the catalogue, never from the browser."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from plans.models import Plan, Price


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class FlexibleChoice:
    """The amounts a customer picked for a flexible plan."""

    data_gb: int
    minutes: int


def flexible_choice_check(plan: Plan, choice: FlexibleChoice) -> None:
    """Refuse amounts outside the plan's bounds (minutes go in hundreds)."""
    if not plan.flex_data_gb_min <= choice.data_gb <= plan.flex_data_gb_max:
        raise ValidationError(
            _("Choose between %(low)d and %(high)d GB.")
            % {"low": plan.flex_data_gb_min, "high": plan.flex_data_gb_max},
            code="data_out_of_range",
        )
    if not plan.flex_minutes_min <= choice.minutes <= plan.flex_minutes_max or choice.minutes % 100:
        raise ValidationError(
            _("Choose between %(low)d and %(high)d minutes, in hundreds.")
            % {"low": plan.flex_minutes_min, "high": plan.flex_minutes_max},
            code="minutes_out_of_range",
        )


def price_of(price: Price, choice: FlexibleChoice | None = None) -> Money:
    """The price of ``price.plan`` in ``price.currency``; a flexible plan needs the ``choice``."""
    amount = price.amount_minor
    if price.plan.is_flexible:
        if choice is None:
            raise ValueError("a flexible plan is priced from the amounts chosen")
        flexible_choice_check(price.plan, choice)
        amount += choice.data_gb * price.per_gb_minor + (choice.minutes // 100) * price.per_100_minutes_minor
    return Money(amount, price.currency)


def quote(*, plan: Plan, currency: str, choice: FlexibleChoice | None = None) -> Money:
    """The price of ``plan`` in ``currency``, or ValidationError when it is not sold in it."""
    price = next((p for p in plan.prices.all() if p.currency == currency), None)
    if price is None:
        raise ValidationError(_("This plan is not sold in %(currency)s.") % {"currency": currency}, code="currency")
    return price_of(price, choice)
