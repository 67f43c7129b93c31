"""Auto-renew: a saved card charged off-session before the line expires, once per expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Notice, User
from accounts.notice_keys import order_payment_needed_key
from accounts.outbox import notice_create
from billing import gateway
from billing.models import Order, PaymentProfile
from billing.selectors import customer_currency
from billing.services.customers import payment_profile_get, payment_profile_renew
from billing.services.items import ItemPrice, order_items_create
from billing.services.orders import _move, order_intent_apply, order_locked
from boomcard.page_cache import customers_changed
from plans.models import Line

AUTO_RENEW_WINDOW = timedelta(hours=48)
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
    customers_changed([line.owner_id])
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
    customers_changed([user.pk])
    return lines


def auto_renew_charge(*, line: Line, now: datetime | None = None) -> Order | None:
    """Charge the saved card off-session for the line's current plan, once per expiry date.

    The order records the expiry it renews; a unique constraint on (line, expiry) makes a second
    run for the same expiry do nothing. If the bank wants the customer (authentication needed,
    declined), or the card is gone, the order stays open and the customer gets a notice with a
    link to pay by hand. If Stripe does not answer, the next run asks again with the same key.
    """
    now = now or timezone.now()
    line = Line.objects.select_related("plan", "owner").get(pk=line.pk)
    if not (line.auto_renew and line.owner and line.plan and line.expires_at):
        return None
    if line.expires_at - now > AUTO_RENEW_WINDOW:
        return None
    profile = PaymentProfile.objects.filter(user=line.owner).first()
    if profile is None or not profile.has_card:
        return None
    price = next((p for p in line.plan.prices.all() if p.currency == customer_currency(user=line.owner)), None)
    if price is None or line.plan.is_flexible:
        return None
    try:
        with transaction.atomic():
            order = Order.objects.create(
                user=line.owner,
                line=line,
                plan=line.plan,
                kind=Order.Kind.RENEWAL,
                amount_minor=price.amount_minor,
                currency=price.currency,
                off_session=True,
                renews_expiry=line.expires_at,
                payment_method_type=gateway.CARD,
                card_brand=profile.card_brand,
                card_last4=profile.card_last4,
            )
            item = ItemPrice(plan=line.plan, amount_minor=price.amount_minor, currency=price.currency)
            order_items_create(order=order, items=[item])
    except IntegrityError:
        return None  # this expiry was already charged (or is being), or an order is open
    return auto_renew_order_pay(order=order)


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
