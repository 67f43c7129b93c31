"""What the support desk does to a customer's account from the customer's page in the admin:
send an email again, take away a lost authenticator, let a locked-out customer try again.

Each function is one transaction that locks only the rows it changes, and returns what was there
before, so that the admin can record the change in the audit trail (boomcard.audit).
"""

from __future__ import annotations

from dataclasses import dataclass

from axes.models import AccessAttempt
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import account_key, login_failures_forget
from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import email_deliver_on_commit
from accounts.security_notices import security_notice_create


@dataclass(frozen=True)
class EmailResent:
    delivery: EmailDelivery
    old_status: str
    old_to: str


def customer_emails(*, user: User) -> Q:
    """The outbox rows that are this customer's: their notices' emails and the links that confirm
    a new address of theirs (support requests and staff alerts go to the support desk)."""
    return Q(notice__user=user) | Q(email_verification_for=user)


def email_resend(*, user: User, delivery_id: int) -> EmailResent:
    """Send one of the customer's emails again, through the outbox: the row is due now, with its
    tries counted afresh. A notice's email goes to the customer's address as it is now (staff may
    just have corrected it); a confirmation link keeps the address it confirms.

    Refused (ValidationError) for an email that is not this customer's (``not_found``), one a
    sender holds right now (``sending``), or a notice's email when the customer has no address
    (``no_address``)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .filter(customer_emails(user=user), pk=delivery_id)
            .select_related("notice")
            .first()
        )
        if delivery is None:
            raise ValidationError(_("This customer has no such email."), code="not_found")
        if delivery.status == EmailDelivery.Status.PENDING and delivery.claimed_until and delivery.claimed_until > now:
            raise ValidationError(_("This email is being sent right now; look again in a minute."), code="sending")
        old_status, old_to = delivery.status, delivery.to
        if delivery.notice is not None:
            if not user.email:
                raise ValidationError(_("The customer has no email address to send to."), code="no_address")
            delivery.to = user.email
        delivery.status = EmailDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.last_error = ""
        delivery.next_attempt_at = now
        delivery.claimed_until = None
        delivery.sent_at = None
        delivery.save(
            update_fields=["to", "status", "attempts", "last_error", "next_attempt_at", "claimed_until", "sent_at"]
        )
        email_deliver_on_commit(delivery.pk)
    return EmailResent(delivery=delivery, old_status=old_status, old_to=old_to)


def two_factor_reset(*, user: User) -> int:
    """Take away the customer's authenticator app and recovery codes (a lost phone), so that they
    log in with their password alone and can set up a new one. The customer is told by a security
    notice (and email) if two-step log-in was on. Returns how many devices were removed; refused
    (``no_device``) when there were none. A staff member must then be given an enrolment code to
    set up a new one before the admin lets them in again."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        was_on = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
        static, _by_model = StaticDevice.objects.filter(user=user).delete()
        if not removed and not static:
            raise ValidationError(_("This customer has no authenticator app or recovery codes."), code="no_device")
        if was_on:
            security_notice_create(user=user, kind=Notice.Kind.TWO_FACTOR_OFF)
    return int(removed)


def login_unlock(*, user: User) -> int:
    """Forget the customer's failed log-ins from every address (django-axes' records), so that a
    locked-out customer can try again at once. Returns how many addresses had failures; refused
    (``not_locked``) when none had."""
    with transaction.atomic():
        count = AccessAttempt.objects.filter(username=account_key(user)).count()
        if not count:
            raise ValidationError(_("This customer has no failed log-ins to forget."), code="not_locked")
        login_failures_forget(user=user)
    return count
