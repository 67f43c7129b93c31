"""Every write on orders and payments. Each function is one transaction (or a short sequence of
them where a call to Stripe must sit between two), and each says what it guarantees."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Line, Notice, User
from accounts.outbox import notice_create
from accounts.page_cache import customers_changed
from billing import gateway
from billing.models import Order, PaymentProfile, StripeEvent
from plans.models import Plan
from plans.pricing import FlexibleChoice, quote
from plans.services import entitlement_grant, entitlement_withdraw

logger = logging.getLogger(__name__)


def payment_profile_get(*, user: User) -> PaymentProfile:
    """The customer's Stripe customer, made on first use."""
    profile = PaymentProfile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    customer_id = gateway.customer_create(user_id=user.pk, email=user.email, phone=str(user.phone.as_e164))
    profile, _created = PaymentProfile.objects.get_or_create(user=user, defaults={"stripe_customer_id": customer_id})
    return profile


def _order_kind(line: Line, plan: Plan) -> str:
    if plan.is_addon:
        return Order.Kind.ADDON
    return Order.Kind.RENEWAL if line.plan_id == plan.pk else Order.Kind.CHANGE


def order_start(*, user: User, line: Line, plan: Plan, currency: str, choice: FlexibleChoice | None = None) -> Order:
    """Open an order for ``line`` at the catalogue's price, with its PaymentIntent.

    At most one open order per line (a database constraint): pressing twice, two tabs or two
    threads get the same order and the same intent. An open order for something else is
    cancelled first (at Stripe too). Stripe being down leaves the order pending, to pay later.
    """
    if line.owner_id != user.pk:
        raise ValidationError(_("This line is not on your account."), code="not_owner")
    if not plan.is_active:
        raise ValidationError(_("This plan is no longer on sale."), code="not_on_sale")
    money = quote(plan=plan, currency=currency, choice=choice)
    wanted = {
        "plan": plan,
        "flex_data_gb": choice.data_gb if choice else None,
        "flex_minutes": choice.minutes if choice else None,
        "amount_minor": money.amount_minor,
        "currency": money.currency,
    }
    for _attempt in range(3):
        existing = Order.objects.filter(line=line, status__in=Order.OPEN).first()
        if existing is not None:
            same = all(getattr(existing, name) == value for name, value in wanted.items())
            if same:
                return order_intent_ensure(order=existing)
            order_cancel(order=existing, reason=_("Replaced by a newer order."))
            continue
        try:
            with transaction.atomic():
                order = Order.objects.create(user=user, line=line, kind=_order_kind(line, plan), **wanted)
        except IntegrityError:
            continue  # another request opened one just now: use it
        return order_intent_ensure(order=order)
    raise ValidationError(_("Please try again."), code="busy")


def order_intent_ensure(*, order: Order) -> Order:
    """Give the order its PaymentIntent if it has none; one intent per order, even under races
    (the order row is locked, and the idempotency key is derived from the order)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.payment_intent_id or not order.is_open:
            return order
        _intent_open(order, idempotency_key=f"order-{order.public_id}-intent")
    return order


def _intent_open(order: Order, *, idempotency_key: str) -> None:
    """Create the order's PaymentIntent at Stripe and record it; the caller holds the row lock."""
    profile = payment_profile_get(user=order.user)
    intent = gateway.intent_create(
        amount_minor=order.amount_minor,
        currency=order.currency,
        customer_id=profile.stripe_customer_id,
        order_public_id=order.public_id,
        idempotency_key=idempotency_key,
        payment_method_types=gateway.methods_for(order.currency),
    )
    order.payment_intent_id = intent.id
    order.client_secret = intent.client_secret
    order.save(update_fields=["payment_intent_id", "client_secret", "updated_at"])


def _intent_cancel(intent_id: str) -> gateway.Intent:
    """Cancel an intent at Stripe; if Stripe refuses (it was paid meanwhile), its present state."""
    try:
        return gateway.intent_cancel(intent_id)
    except gateway.GatewayUnavailable:
        raise
    except gateway.GatewayError:
        return gateway.intent_retrieve(intent_id)


def _order_intent_replace(*, order: Order) -> Order:
    """A fresh intent for an order whose last try failed: an intent that recorded a failed charge
    cannot always be confirmed again (localstripe), and a fresh one works the same on Stripe.
    The old intent is cancelled first; if it turns out to have succeeded, the order is fulfilled."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if order.status != Order.Status.FAILED or not order.payment_intent_id:
            return order
        old_id = order.payment_intent_id
        old = _intent_cancel(old_id)
        if old.status not in ("canceled", "requires_payment_method"):
            _apply_intent(order, old)
            return order
        _intent_open(order, idempotency_key=f"order-{order.public_id}-after-{old_id}")
    return order


def _move(order: Order, status: str, **fields: object) -> bool:
    """Set ``status`` if the order may go there; the caller holds the row lock."""
    if order.status == status:
        changed = False
    elif order.can_move_to(status):
        order.status = status
        changed = True
    else:
        logger.info("order %s: not moving %s -> %s", order.public_id, order.status, status)
        return False
    for name, value in fields.items():
        setattr(order, name, value)
    order.save()
    return changed or bool(fields)


def order_pay_with_card(*, order: Order, payment_method_id: str, save_card: bool = False) -> Order:
    """Pay an open order with a card collected by the page: attach it to the customer, confirm
    the intent. A decline leaves the order open (FAILED, with the bank's reason) for another
    try; 3-D Secure leaves it REQUIRES_ACTION for the page; success fulfils it."""
    order = order_intent_ensure(order=order)
    if not order.is_open:
        return order
    if order.status == Order.Status.FAILED:
        order = _order_intent_replace(order=order)
    profile = payment_profile_get(user=order.user)
    card = gateway.card_attach(customer_id=profile.stripe_customer_id, payment_method_id=payment_method_id)
    if save_card:
        PaymentProfile.objects.filter(pk=profile.pk).update(
            card_payment_method_id=card.payment_method_id, card_brand=card.brand, card_last4=card.last4
        )
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if not order.is_open:
            return order
        order.payment_method_type = gateway.CARD
        order.card_brand, order.card_last4 = card.brand, card.last4
        try:
            intent = gateway.intent_pay_with_card(
                intent_id=str(order.payment_intent_id), payment_method_id=card.payment_method_id
            )
        except gateway.CardDeclined as declined:
            _move(order, Order.Status.FAILED, failure_reason=declined.message[:255])
            return order
        _apply_intent(order, intent)
    return order


def order_fulfil(*, order: Order) -> Order:
    """Bring the order in line with Stripe, and if it is paid, fulfil it exactly once.

    Locks the order row, asks Stripe for the intent (never trusting the browser or an event's
    copy), and when it succeeded: adds the bucket (one-to-one with the order), marks the order
    fulfilled, and writes the confirmation notice and email in the same transaction. Called by
    the order page and by the webhook: whichever comes second finds it done.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if order.status in (Order.Status.FULFILLED, Order.Status.REFUNDED) or not order.payment_intent_id:
            return order
        intent = gateway.intent_retrieve(order.payment_intent_id)
        _apply_intent(order, intent)
    return order


def _apply_intent(order: Order, intent: gateway.Intent) -> None:
    """Move a locked order to what Stripe's intent says."""
    if intent.id != order.payment_intent_id:
        raise ValueError(f"intent {intent.id} is not order {order.public_id}'s")
    if intent.status == "succeeded":
        if intent.amount_minor != order.amount_minor or intent.currency != order.currency:
            # Never expected: the amount is set by us. Keep the money, hold the order for staff.
            logger.error("order %s: Stripe charged %s %s", order.public_id, intent.amount_minor, intent.currency)
            _move(order, Order.Status.PAID, paid_at=timezone.now(), failure_reason="amount mismatch: check by hand")
            return
        _fulfil_locked(order, intent)
    elif intent.status == "requires_action":
        _move(order, Order.Status.REQUIRES_ACTION, failure_reason="")
    elif intent.status == "requires_payment_method" and intent.failure_message:
        _move(order, Order.Status.FAILED, failure_reason=intent.failure_message[:255])
    elif intent.status == "canceled":
        _move(order, Order.Status.CANCELLED)


def _fulfil_locked(order: Order, intent: gateway.Intent) -> None:
    if order.status in (Order.Status.FULFILLED, Order.Status.REFUNDED):
        return
    now = timezone.now()
    choice = FlexibleChoice(order.flex_data_gb or 0, order.flex_minutes or 0) if order.plan.is_flexible else None
    bucket = entitlement_grant(line=order.line, plan=order.plan, choice=choice, now=now, order=order)
    # Paid on the page by Alipay or WeChat Pay, the order knows the method only from Stripe: the
    # intent when it names one, else the payment method itself.
    order.payment_method_type = order.payment_method_type or intent.payment_method_type
    if intent.payment_method_id and not order.card_last4 and order.payment_method_type in ("", gateway.CARD):
        try:
            method = gateway.card_details(intent.payment_method_id)
            if method.last4:  # a wallet's payment method has no card: do not call it one
                order.card_brand, order.card_last4 = method.brand, method.last4
            order.payment_method_type = order.payment_method_type or method.type
        except gateway.GatewayError:
            logger.warning("order %s: payment method details unavailable", order.public_id)
    order.status = Order.Status.FULFILLED
    order.paid_at = order.paid_at or now
    order.fulfilled_at = now
    order.failure_reason = ""
    order.save()
    line = Line.objects.get(pk=order.line_id)
    order.line = line  # the grant moved its expiry: pages after this show the new one
    notice_create(
        user=order.user,
        kind=Notice.Kind.PAYMENT_CONFIRMED,
        key=f"order-fulfilled:{order.pk}",
        line=line,
        link=reverse("billing:order", args=[order.public_id]),
        params={
            "order": order.public_id,
            "plan_code": order.plan.code,
            "plan_name_en": order.plan.name_en,
            "plan_name_zh": order.plan.name_zh,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
            "expires_at": (line.expires_at or bucket.expires_at).isoformat(),
            "msisdn": str(line.msisdn.as_e164),
        },
    )


def order_cancel(*, order: Order, reason: str = "") -> Order:
    """Cancel an open order and its intent. If Stripe says the payment went through after all,
    the order is fulfilled instead."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if not order.is_open:
            return order
        if order.payment_intent_id:
            intent = _intent_cancel(order.payment_intent_id)
            if intent.status != "canceled":
                _apply_intent(order, intent)
                return order
        _move(order, Order.Status.CANCELLED, failure_reason=reason[:255])
    return order


def order_refund(*, order: Order) -> Order:
    """Refund a paid order in full at Stripe, mark it refunded and take back what is left of its
    bucket. A second refund of the same order is refused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if order.status == Order.Status.REFUNDED:
            raise ValidationError(_("This order is already refunded."), code="already_refunded")
        if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
            raise ValidationError(_("Only a paid order can be refunded."), code="not_paid")
        gateway.refund_create(intent_id=str(order.payment_intent_id), idempotency_key=f"order-{order.public_id}-refund")
        _refunded_locked(order)
    return order


def order_refunded_at_stripe(*, order: Order) -> Order:
    """Stripe says the charge was refunded (``charge.refunded``): record it, once."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        if order.status in (Order.Status.PAID, Order.Status.FULFILLED):
            _refunded_locked(order)
    return order


def _refunded_locked(order: Order) -> None:
    now = timezone.now()
    bucket = getattr(order, "entitlement", None)
    if bucket is not None:
        entitlement_withdraw(bucket=bucket, now=now)
    _move(order, Order.Status.REFUNDED, refunded_at=now)
    notice_create(
        user=order.user,
        kind=Notice.Kind.REFUNDED,
        key=f"order-refunded:{order.pk}",
        line=order.line,
        link=reverse("billing:order", args=[order.public_id]),
        params={"order": order.public_id, "amount_minor": order.amount_minor, "currency": order.currency},
    )


# --- Webhooks -------------------------------------------------------------------------------

HANDLED_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
    "charge.refunded",
}


def stripe_event_handle(*, event: gateway.Event) -> str:
    """Store a verified event by its id and act on it, in one transaction.

    A repeat of an event already stored is a no-op. Events may come in any order: each one makes
    the order ask Stripe for the intent's present state, and states only move forward. An event
    for an intent we do not know is stored and otherwise ignored. If Stripe cannot be reached the
    transaction rolls back, so the event is not marked done and a redelivery can act on it.
    """
    intent_id = gateway.intent_id_of_event(event)
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = StripeEvent.objects.create(
                    event_id=event.id, type=event.type, payment_intent_id=intent_id, payload=event.object
                )
        except IntegrityError:
            return "duplicate"
        order = Order.objects.filter(payment_intent_id=intent_id).first() if intent_id else None
        if order is None:
            outcome = "unknown intent" if event.type in HANDLED_EVENTS else "ignored"
        elif event.type == "charge.refunded" and not gateway.charge_fully_refunded(event):
            # Part of the money given back (a goodwill credit): the bucket stays; staff settle it.
            logger.warning("order %s: partly refunded at Stripe", order.public_id)
            outcome = f"order {order.public_id}: partial refund, order unchanged"
        elif event.type == "charge.refunded":
            order = order_refunded_at_stripe(order=order)
            outcome = f"order {order.public_id}: {order.status}"
        elif event.type in HANDLED_EVENTS:
            try:
                order = order_fulfil(order=order)
                outcome = f"order {order.public_id}: {order.status}"
            except gateway.GatewayUnavailable:
                raise
            except gateway.GatewayError as error:
                # Stripe refused the look-up (say, the intent is gone): redelivery would not help.
                # Kept with the reason; reconciliation still looks at the order.
                logger.error("event %s for order %s: %s", event.id, order.public_id, error.code)
                outcome = f"order {order.public_id}: Stripe said {error.code or 'error'}"
        else:
            outcome = "ignored"
        stored.processed_at = timezone.now()
        stored.outcome = outcome
        stored.save(update_fields=["processed_at", "outcome"])
    return outcome


# --- Auto-renew -----------------------------------------------------------------------------


def auto_renew_set(*, line: Line, enabled: bool, payment_method_id: str = "") -> Line:
    """Turn auto-renew on (saving the card given, or keeping the one saved) or off."""
    if enabled:
        profile = payment_profile_get(user=line.owner)  # type: ignore[arg-type]
        if payment_method_id:
            card = gateway.card_attach(customer_id=profile.stripe_customer_id, payment_method_id=payment_method_id)
            profile.card_payment_method_id, profile.card_brand, profile.card_last4 = (
                card.payment_method_id,
                card.brand,
                card.last4,
            )
            profile.save(update_fields=["card_payment_method_id", "card_brand", "card_last4"])
        elif not profile.has_card:
            raise ValidationError(_("Save a card first."), code="no_card")
    Line.objects.filter(pk=line.pk).update(auto_renew=enabled)
    customers_changed([line.owner_id])
    line.auto_renew = enabled
    return line


AUTO_RENEW_WINDOW = timedelta(hours=48)


def auto_renew_charge(*, line: Line, now: datetime | None = None) -> Order | None:
    """Charge the saved card off-session for the line's current plan, once per expiry date.

    The order records the expiry it renews; a unique constraint on (line, expiry) makes a second
    run for the same expiry do nothing. If the bank wants the customer (authentication needed,
    declined), the order stays open and the customer gets a notice with a link to pay by hand.
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
    price = next((p for p in line.plan.prices.all() if p.currency == _currency_of(line.owner)), None)
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
    except IntegrityError:
        return None  # this expiry was already charged (or is being), or an order is open
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
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            _move(order, Order.Status.FAILED, failure_reason=declined.message[:255])
            _ask_customer_to_pay(order)
        return order
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("line", "plan", "user").get(pk=order.pk)
        order.payment_intent_id = intent.id
        order.client_secret = intent.client_secret
        order.save(update_fields=["payment_intent_id", "client_secret", "updated_at"])
        _apply_intent(order, intent)
        if order.is_open:
            _ask_customer_to_pay(order)
    return order


def _ask_customer_to_pay(order: Order) -> None:
    notice_create(
        user=order.user,
        kind=Notice.Kind.PAYMENT_NEEDED,
        key=f"order-payment-needed:{order.pk}",
        line=order.line,
        link=reverse("billing:pay", args=[order.public_id]),
        params={
            "order": order.public_id,
            "reason": order.failure_reason,
            "amount_minor": order.amount_minor,
            "currency": order.currency,
        },
    )


def _currency_of(user: User | None) -> str:
    """Auto-renew charges in the currency the customer last paid in."""
    last = Order.objects.filter(user=user).exclude(status=Order.Status.CANCELLED).order_by("-created_at").first()
    return last.currency if last else settings.DEFAULT_CURRENCY
