"""Changing the email: the new address waits in ``User.email_pending`` until the customer follows
the link sent to it (signed, valid ``EMAIL_LINK_HOURS``). Until then receipts, notices and
log-ins by email keep to the confirmed ``User.email``; once confirmed, the old address gets a
security notice."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import email_deliver_on_commit
from accounts.security_notices import security_notice_create
from boomcard.page_cache import customers_changed

EMAIL_LINK_HOURS = 24
_SALT = "boom.email-change"


def _taken(email: str, *, user: User) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()


def _taken_error() -> ValidationError:
    return ValidationError(_("This email is already used by another account."), code="email_taken")


def email_change_token(*, user_id: int, email: str) -> str:
    """The signed token in the confirm link: who, which address, and when (for the expiry)."""
    return signing.dumps({"u": user_id, "e": email}, salt=_SALT, compress=True)


def email_change_request(*, user: User, email: str) -> User:
    """Keep ``email`` as the customer's pending address and write the email with its link to
    it (the outbox), in one transaction. The confirmed address stays in use meanwhile."""
    email = User.objects.normalize_email(email)
    if email.lower() == user.email.lower():
        raise ValidationError(_("This is already your email."), code="unchanged")
    if _taken(email, user=user):
        raise _taken_error()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).update(email_pending=email)
        delivery = EmailDelivery.objects.create(email_verification_for=user, to=email)
        email_deliver_on_commit(delivery.pk)
        customers_changed([user.pk])  # the cached user: an update sends no signal
    user.email_pending = email
    return user


def email_change_confirm(*, token: str) -> User:
    """Make the pending address the customer's email once the link's token is right, and tell
    the old address (security notice), in one transaction. A link that has expired, was
    tampered with, or is for an address no longer pending is refused (code ``bad_link``)."""
    bad_link = ValidationError(
        _("This link is not valid any more. Ask for a new one on your account page."), code="bad_link"
    )
    try:
        data: dict[str, Any] = signing.loads(token, salt=_SALT, max_age=EMAIL_LINK_HOURS * 3600)
        user_id, email = int(data["u"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise bad_link from exc
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None or not email or user.email_pending.lower() != email.lower():
            raise bad_link
        if _taken(email, user=user):
            raise _taken_error()
        if user.email:
            # Written before the address changes: the notice's email goes to the OLD address.
            security_notice_create(user=user, kind=Notice.Kind.EMAIL_CHANGED, params={"email": email})
        user.email, user.email_pending = email, ""
        try:
            with transaction.atomic():
                user.save(update_fields=["email", "email_pending"])
        except IntegrityError as exc:
            raise _taken_error() from exc
    return user


def email_change_link(delivery: EmailDelivery) -> str:
    """The full confirm address for an outbox email (made as it is sent, never stored)."""
    token = email_change_token(user_id=delivery.email_verification_for_id or 0, email=delivery.to)
    return f"{settings.SITE_URL.rstrip('/')}{reverse('accounts:email_confirm')}?token={token}"
