"""What the customer controls of auto-renew beyond on and off: skipping one renewal, the plan of
the next one, and a monthly spending limit; and the notice 24 hours before each charge.

Each change to a renewal locks its row (billing.renewal_models.AutoRenewal), as the charge does
while it makes its order (billing.services.auto_renew.auto_renew_charge): a change lands before
the charge, or finds the order and is refused. Every change calls ``pages_changed``: the
auto-renew page and the line page show the next charge.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Notice, User
from accounts.notice_keys import auto_renew_upcoming_key
from accounts.outbox import notice_create
from billing.models import Order, PaymentProfile
from billing.next_charge import next_charge_of_line, plans_for_next_renewal
from billing.selectors import customer_currency
from billing.services.auto_renew import auto_renewal_locked
from boomcard.page_cache import pages_changed
from plans.line_hooks import NextCharge
from plans.models import Line


def _renewal_open(line: Line) -> datetime:
    """The expiry whose renewal the customer changes; refused once the line has none."""
    if not (line.auto_renew and line.expires_at):
        raise ValidationError(_("Auto-renew is off for this line."), code="auto_renew_off")
    return line.expires_at


def _not_charged_yet(line: Line, expires_at: datetime) -> None:
    if Order.objects.filter(line=line, off_session=True, renews_expiry=expires_at).exists():
        raise ValidationError(
            _("This renewal has already been charged: it can no longer be changed."), code="already_charged"
        )


def auto_renew_skip(*, line: Line, skipped: bool, now: datetime | None = None) -> None:
    """Skip the renewal of the line's current expiry (or undo the skip), until it is charged:
    once its order exists the change is refused. A skipped renewal is not charged; the next
    expiry (after the customer renews by hand) is charged as usual."""
    now = now or timezone.now()
    expires_at = _renewal_open(line)
    with transaction.atomic():
        renewal = auto_renewal_locked(line_id=line.pk, expires_at=expires_at)
        _not_charged_yet(line, expires_at)
        renewal.skipped_at = now if skipped else None
        renewal.save(update_fields=["skipped_at"])
    pages_changed([line.owner_id])


def auto_renew_plan_choose(*, line: Line, plan_code: str) -> None:
    """Renew the line's current expiry with another plan on sale (a base plan priced in the
    customer's currency; not the flexible plan), until it is charged. The line's own plan clears
    the choice."""
    expires_at = _renewal_open(line)
    currency = customer_currency(user=line.owner)
    plan = next((plan for plan, _price in plans_for_next_renewal(currency=currency) if plan.code == plan_code), None)
    if plan is None:
        raise ValidationError(_("This plan is not on sale."), code="unknown_plan")
    with transaction.atomic():
        renewal = auto_renewal_locked(line_id=line.pk, expires_at=expires_at)
        _not_charged_yet(line, expires_at)
        renewal.plan = None if plan.pk == line.plan_id else plan
        renewal.save(update_fields=["plan"])
    pages_changed([line.owner_id])


def spending_cap_set(*, user: User, cap_minor: int | None) -> None:
    """Set the most auto-renew may take in a calendar month (None: no limit)."""
    if cap_minor is not None and cap_minor <= 0:
        raise ValidationError(_("Enter an amount above zero."), code="cap_not_positive")
    if not PaymentProfile.objects.filter(user=user).update(monthly_cap_minor=cap_minor):
        raise ValidationError(_("Save a card first."), code="no_card")
    pages_changed([user.pk])


def auto_renew_notice_send(*, line_id: int, now: datetime | None = None) -> bool:
    """The notice and email before the charge of the line's current expiry: when, which plan, how
    much, which card, with a link to the page where the customer skips it or changes the plan.
    Once per expiry (the renewal's ``notified_at``, and the notice's key); its time starts the
    24 hours before the charge. Nothing for a skipped renewal, or one that cannot be charged."""
    now = now or timezone.now()
    line = Line.objects.select_related("plan", "owner").get(pk=line_id)
    if not (line.auto_renew and line.owner and line.expires_at) or line.expires_at <= now:
        return False
    with transaction.atomic():
        renewal = auto_renewal_locked(line_id=line.pk, expires_at=line.expires_at)
        if renewal.notified_at or renewal.skipped_at:
            return False
        renewal.notified_at = now
        renewal.save(update_fields=["notified_at"])
        charge = next_charge_of_line(line, now=now)
        if charge is None or charge.state != NextCharge.State.DUE:
            transaction.set_rollback(True)
            return False
        expiry = line.expires_at.isoformat()
        notice_create(
            user=line.owner,
            kind=Notice.Kind.AUTO_RENEW_UPCOMING,
            key=auto_renew_upcoming_key(line_id=line.pk, expires_at=expiry),
            line=line,
            link=reverse("billing:auto_renew", args=[line.pk]),
            params={
                "charge_at": charge.at.isoformat(),
                "expires_at": expiry,
                "msisdn": str(line.msisdn),
                "plan_name_en": charge.plan_name_en,
                "plan_name_zh": charge.plan_name_zh,
                "amount_minor": charge.amount_minor,
                "currency": charge.currency,
                "card_brand": charge.card_brand,
                "card_last4": charge.card_last4,
            },
        )
    pages_changed([line.owner_id])
    return True
