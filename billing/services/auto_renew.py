"""Auto-renew: a saved card charged off-session before the line expires, once per expiry."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Notice, User
from accounts.notice_keys import order_payment_needed_key
from accounts.outbox import notice_create
from billing import gateway
from billing.models import AutoRenewal, Order, PaymentProfile
from billing.next_charge import AUTO_RENEW_WINDOW, SPENDING_CAP_CODE
from billing.selectors import customer_currency
from billing.services.customers import payment_profile_get, payment_profile_renew
from billing.services.items import ItemPrice, order_items_create
from billing.services.orders import _move, order_intent_apply, order_locked
from boomcard.formats import money
from boomcard.page_cache import pages_changed
from plans.models import Line

CARD_GONE, CARD_GONE_CODE = "The saved card is no longer available.", "saved_card_missing"


def auto_renew_set(*, line: Line, enabled: bool, payment_method_id: str = "") -> Line:
    """Turn auto-renew on (saving the card given, or keeping the one saved) or off."""
    if enabled:
        profile = payment_profile_get(user=line.owner)  # type: ignore[arg-type]
        if payment_method_id:
            try:
                card = gateway.card_attach(customer_id=profile.stripe_customer_id, payment_method_id=payment_method_id)
            except gateway.NotFound as missing:
                if missing.param != "customer":
                    raise
                profile = payment_profile_renew(profile=profile)
                card = gateway.card_attach(customer_id=profile.stripe_customer_id, payment_method_id=payment_method_id)
            PaymentProfile.objects.filter(pk=profile.pk).update(
                card_payment_method_id=card.payment_method_id, card_brand=card.brand, card_last4=card.last4
            )
        elif not profile.has_card:
            raise ValidationError(_("Save a card first."), code="no_card")
    Line.objects.filter(pk=line.pk).update(auto_renew=enabled)
    pages_changed([line.owner_id])
    line.auto_renew = enabled
    return line


def auto_renew_card_remove(*, user: User) -> int:
    """Forget the card saved for auto-renew and turn auto-renew off on every line of the
    customer (nothing is left to charge), in one transaction, lines before the profile as in
    the lock order. Returns how many lines had it on. The card stays with the Stripe customer
    but is never charged again; saving a card later replaces it."""
    with transaction.atomic():
        lines = Line.objects.filter(owner=user, auto_renew=True).update(auto_renew=False)
        PaymentProfile.objects.filter(user=user).update(card_payment_method_id="", card_brand="", card_last4="")
    pages_changed([user.pk])
    return lines


def auto_renew_charge(*, line: Line, now: datetime | None = None) -> Order | None:
    """Charge the saved card off-session for this expiry's renewal, once per expiry date.

    The sweep (billing.sweeps.auto_renew_run) calls it when the charge is due, 24 hours after the
    notice; this function charges whenever it is called inside the 48-hour window. The order
    records the expiry it renews; a unique constraint on (line, expiry) makes a second run for
    the same expiry do nothing. The plan is the one the customer chose for this renewal, else the
    line's. Nothing is charged for a renewal the customer skipped: the renewal's row is locked
    while the order is made, so a skip lands before (no order) or after (refused). Nor past the
    customer's monthly limit: that order fails at once, Stripe never asked, and the customer is
    told why with a link to pay by hand. If the bank wants the customer (authentication needed,
    declined), or the card is gone, the order stays open and the customer gets a notice with a
    link to pay by hand. If Stripe does not answer, the next run asks again with the same key.
    Locks, in order: the renewal, then the customer's PaymentProfile (so two lines charged at
    once are counted against the limit one after the other); none is held while Stripe is called.
    """
    now = now or timezone.now()
    line = Line.objects.select_related("plan", "owner").get(pk=line.pk)
    if not (line.auto_renew and line.owner and line.plan and line.expires_at):
        return None
    if line.expires_at - now > AUTO_RENEW_WINDOW:
        return None
    currency = customer_currency(user=line.owner)
    try:
        with transaction.atomic():
            renewal = auto_renewal_locked(line_id=line.pk, expires_at=line.expires_at)
            plan = renewal.plan or line.plan
            price = next((p for p in plan.prices.all() if p.currency == currency), None)
            profile = (
                PaymentProfile.objects.select_for_update(of=("self",), no_key=True).filter(user=line.owner).first()
            )
            if renewal.skipped_at or price is None or plan.is_flexible or profile is None or not profile.has_card:
                return None
            cap = profile.monthly_cap_minor
            over_cap = (
                cap is not None and month_spent(user=line.owner, currency=currency, now=now) + price.amount_minor > cap
            )
            order = Order.objects.create(
                user=line.owner,
                line=line,
                plan=plan,
                kind=Order.Kind.RENEWAL if plan.pk == line.plan_id else Order.Kind.CHANGE,
                amount_minor=price.amount_minor,
                currency=price.currency,
                off_session=True,
                renews_expiry=line.expires_at,
                payment_method_type=gateway.CARD,
                card_brand=profile.card_brand,
                card_last4=profile.card_last4,
            )
            item = ItemPrice(plan=plan, amount_minor=price.amount_minor, currency=price.currency)
            order_items_create(order=order, items=[item])
    except IntegrityError:
        return None  # this expiry was already charged (or is being), or an order is open
    if over_cap and cap is not None:
        # The limit, as the customer set it, is the reason's text (billing.payment_errors words it).
        return _payment_needed(order, money(cap, currency), code=SPENDING_CAP_CODE)
    return auto_renew_order_pay(order=order)


def auto_renewal_locked(*, line_id: int, expires_at: datetime) -> AutoRenewal:
    """The renewal of the line's expiry, made if new, locked for the caller's transaction."""
    AutoRenewal.objects.get_or_create(line_id=line_id, expires_at=expires_at)
    return (
        AutoRenewal.objects.select_for_update(of=("self",), no_key=True)
        .select_related("plan")
        .get(line_id=line_id, expires_at=expires_at)
    )


# Payments count in the calendar month of the carrier's time zone (the zone its usage days are
# counted in, settings.USAGE_DAY_TIME_ZONE), whatever zone the customer reads pages in: the
# limit starts again at midnight on the 1st there.
def month_start(now: datetime) -> datetime:
    local = timezone.localtime(now, ZoneInfo(settings.USAGE_DAY_TIME_ZONE))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spent(*, user: User, currency: str, now: datetime) -> int:
    """What counts against the monthly limit, in minor units of ``currency``: the customer's
    orders in that currency paid since the month began (paid or fulfilled; not refunded in full),
    and auto-renew charges under way (pending or awaiting the customer), which may yet be paid.
    Orders in another currency do not count. One query."""
    paid = Q(status__in=[Order.Status.PAID, Order.Status.FULFILLED], paid_at__gte=month_start(now))
    under_way = Q(off_session=True, status__in=[Order.Status.PENDING, Order.Status.REQUIRES_ACTION])
    total = Order.objects.filter(paid | under_way, user=user, currency=currency).aggregate(total=Sum("amount_minor"))
    return int(total["total"] or 0)


def auto_renew_order_pay(*, order: Order) -> Order:
    """Charge an auto-renew order that has no intent yet (just made, or Stripe did not answer
    last time): the idempotency key is the order's, so asking again never charges twice."""
    order = Order.objects.select_related("user").get(pk=order.pk)
    if order.payment_intent_id or not order.is_open or not order.off_session:
        return order
    profile = PaymentProfile.objects.filter(user=order.user).first()
    if profile is None or not profile.has_card:
        return _payment_needed(order, CARD_GONE, code=CARD_GONE_CODE)
    try:
        intent = gateway.intent_charge_off_session(
            amount_minor=order.amount_minor,
            currency=order.currency,
            customer_id=profile.stripe_customer_id,
            payment_method_id=profile.card_payment_method_id,
            order_public_id=order.public_id,
            idempotency_key=f"order-{order.public_id}-intent",
        )
    except gateway.CardDeclined as declined:
        return _payment_needed(order, declined.message, code=declined.code)
    except gateway.NotFound:
        # The customer or the card is gone at Stripe: a new customer next time, and no saved card.
        payment_profile_renew(profile=profile)
        return _payment_needed(order, CARD_GONE, code=CARD_GONE_CODE)
    with transaction.atomic():
        order = order_locked(order.pk)
        if not order.payment_intent_id:
            order.payment_intent_id, order.client_secret = intent.id, intent.client_secret
            order.save(update_fields=["payment_intent_id", "client_secret", "updated_at"])
    order = order_intent_apply(order=order, intent=intent)
    if order.is_open:
        _ask_customer_to_pay(order)
    return order


def _payment_needed(order: Order, reason: str, *, code: str) -> Order:
    with transaction.atomic():
        order = order_locked(order.pk)
        if order.is_open:
            _move(order, Order.Status.FAILED, failure_reason=reason[:255], failure_code=code[:64])
            _ask_customer_to_pay(order)
    return order


def _ask_customer_to_pay(order: Order) -> None:
    notice_create(
        user=order.user,
        kind=Notice.Kind.PAYMENT_NEEDED,
        key=order_payment_needed_key(order_id=order.pk),
        line=order.line,
        link=reverse("billing:pay", args=[order.public_id]),
        params={
            "order": order.public_id,
            "reason": order.failure_reason,
            "reason_code": order.failure_code,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
        },
    )
