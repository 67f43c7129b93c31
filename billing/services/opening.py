"""Opening an order: what it buys priced from the catalogue, one open order per line."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from billing.models import Order
from billing.services.items import ItemPrice, item_priced, items_in_grant_order, order_items_create, order_items_match
from billing.services.orders import order_cancel, order_intent_ensure
from plans.models import Line, Plan
from plans.pricing import FlexibleChoice


def _order_kind(line: Line, plan: Plan) -> str:
    if plan.is_addon:
        return Order.Kind.ADDON
    return Order.Kind.RENEWAL if line.plan_id == plan.pk else Order.Kind.CHANGE


def order_start(*, user: User, line: Line, plan: Plan, currency: str, choice: FlexibleChoice | None = None) -> Order:
    """Open an order for one ``plan`` on ``line`` at the catalogue's price (``order_open``)."""
    return order_open(user=user, line=line, items=[item_priced(plan=plan, currency=currency, choice=choice)])


def order_open(*, user: User, line: Line, items: Sequence[ItemPrice]) -> Order:
    """Open one order for ``line`` that buys ``items`` (priced by ``item_priced``, in one
    currency) and charges their sum, with its PaymentIntent.

    At most one open order per line (a database constraint): pressing twice, two tabs or two
    threads get the same order and the same intent. An open order for something else is
    cancelled first (at Stripe too). Stripe being down leaves the order pending, to pay later.
    """
    if line.owner_id != user.pk:
        raise ValidationError(_("This line is not on your account."), code="not_owner")
    items = items_in_grant_order(items)
    if not items:
        raise ValidationError(_("Choose something to buy."), code="empty")
    currencies = {item.currency for item in items}
    if len(currencies) != 1:
        raise ValueError("an order is paid in one currency")
    headline = items[0]
    wanted = {
        "plan": headline.plan,
        "flex_data_gb": headline.choice.data_gb if headline.choice else None,
        "flex_minutes": headline.choice.minutes if headline.choice else None,
        "amount_minor": sum(item.amount_minor for item in items),
        "currency": currencies.pop(),
    }
    for _attempt in range(3):
        existing = Order.objects.filter(line=line, status__in=Order.OPEN).first()
        if existing is not None:
            same = all(getattr(existing, name) == value for name, value in wanted.items())
            if same and order_items_match(order=existing, items=items):
                return order_intent_ensure(order=existing)
            order_cancel(order=existing, reason=_("Replaced by a newer order."))
            continue
        try:
            with transaction.atomic():
                order = Order.objects.create(user=user, line=line, kind=_order_kind(line, headline.plan), **wanted)
                order_items_create(order=order, items=items)
        except IntegrityError:
            continue  # another request opened one just now: use it
        return order_intent_ensure(order=order)
    raise ValidationError(_("Please try again."), code="busy")
