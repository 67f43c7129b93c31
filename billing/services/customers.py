"""The customer at Stripe: their Stripe customer, made on first use, and the card kept for
auto-renew."""

from __future__ import annotations

import logging

from accounts.models import User
from billing import gateway
from billing.models import Order, PaymentProfile
from boomcard.page_cache import pages_changed

logger = logging.getLogger(__name__)


def payment_profile_get(*, user: User) -> PaymentProfile:
    """The customer's Stripe customer, made on first use (two requests at once make one: the
    idempotency key is the user's)."""
    profile = PaymentProfile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    customer_id = gateway.customer_create(
        user_id=user.pk, email=user.email, phone=str(user.phone.as_e164), idempotency_key=f"customer-{user.pk}"
    )
    profile, _created = PaymentProfile.objects.get_or_create(user=user, defaults={"stripe_customer_id": customer_id})
    return profile


def payment_profile_renew(*, profile: PaymentProfile) -> PaymentProfile:
    """Stripe no longer knows the customer (deleted at Stripe): make a new one. The saved card
    went with the old customer, so it is forgotten, and auto-renew falls back to reminders."""
    user = profile.user
    customer_id = gateway.customer_create(
        user_id=user.pk,
        email=user.email,
        phone=str(user.phone.as_e164),
        idempotency_key=f"customer-{user.pk}-after-{profile.stripe_customer_id}",
    )
    PaymentProfile.objects.filter(pk=profile.pk, stripe_customer_id=profile.stripe_customer_id).update(
        stripe_customer_id=customer_id, card_payment_method_id="", card_brand="", card_last4=""
    )
    pages_changed([user.pk])  # an update sends no signal (billing.signals)
    logger.warning("user %s: Stripe customer %s was gone, made %s", user.pk, profile.stripe_customer_id, customer_id)
    return PaymentProfile.objects.get(pk=profile.pk)


def payment_profile_card_keep(*, order: Order, intent: gateway.Intent, card: gateway.Card | None) -> None:
    """The card the customer asked to keep (``setup_future_usage``), which Stripe attached to
    their Stripe customer as it paid: auto-renew charges it from now on. Done by whichever of the
    page and a webhook event's task fulfils the order, in that transaction (the profile after the order, in
    the lock order); a wallet, or a Stripe customer since replaced, is not kept."""
    if intent.setup_future_usage != "off_session" or card is None or card.type != gateway.CARD or not card.last4:
        return
    PaymentProfile.objects.filter(user_id=order.user_id, stripe_customer_id=intent.customer_id).update(
        card_payment_method_id=card.payment_method_id, card_brand=card.brand, card_last4=card.last4
    )
    pages_changed([order.user_id])  # an update sends no signal (billing.signals)
