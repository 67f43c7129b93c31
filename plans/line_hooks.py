"""What the plans app's pages show that belongs to billing, above it: the next automatic charge.

plans never imports billing: billing fills this hook in when it starts (``BillingConfig.ready``),
and the line page asks through it. Until then no line has a next charge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import translation

from plans.models import Line


@dataclass(frozen=True)
class NextCharge:
    """The automatic charge coming for a line's current expiry, as its pages show it."""

    class State:
        DUE = "due"  # it will be charged at ``at``
        SKIPPED = "skipped"  # the customer skipped this renewal
        CAPPED = "capped"  # refused: it would have passed the customer's monthly limit
        FAILED = "failed"  # tried, and the bank or the card said no: the customer pays by hand
        CHARGING = "charging"  # the charge is under way

    state: str
    at: datetime
    plan_code: str
    plan_name_en: str
    plan_name_zh: str
    amount_minor: int
    currency: str
    card_brand: str
    card_last4: str
    notified: bool  # the notice before the charge went out
    pay_link: str = ""  # the failed or refused order's pay page

    @property
    def plan_name(self) -> str:
        return self.plan_name_zh if (translation.get_language() or "").startswith("zh") else self.plan_name_en


def _none(line: Line) -> NextCharge | None:
    return None


# The next charge of a line (its owner's, for its current expiry), or None: at most one query.
next_charge: Callable[[Line], NextCharge | None] = _none


def line_hooks_register(*, next_charge_of_line: Callable[[Line], NextCharge | None]) -> None:
    global next_charge
    next_charge = next_charge_of_line
