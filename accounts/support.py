"""Writing to support: from a customer logged in, or from someone logged out (a locked-out
customer, say) who leaves an email to reply to or proves a number with an SMS code.

Each request and its email to ``SUPPORT_EMAIL`` are written in one transaction (the outbox), and
the form's token is unique: the same form posted again, after an error or a double press, finds
the request it made and writes no second one, so support hears of each request once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from accounts.line_hooks import NamedLine, line_fields
from accounts.models import EmailDelivery, Notice, SmsCode, SupportRequest, User
from accounts.notice_keys import support_received_key
from accounts.outbox import email_deliver_on_commit, notice_create
from accounts.services import sms_code_check, sms_code_send


def support_request_create(
    *,
    topic: str,
    message: str,
    user: User | None = None,
    line: NamedLine | None = None,
    contact_email: str = "",
    contact_phone: PhoneNumber | None = None,
    token: uuid.UUID | None = None,
) -> SupportRequest:
    """Store the request and its email to support, and confirm to a logged-in customer, in one
    transaction. A request already made with ``token`` is returned as it is (nothing is written,
    nothing emailed again); a token of someone else's request is refused."""
    if token is not None and (done := SupportRequest.objects.filter(token=token).first()) is not None:
        return _same_sender(done, user=user, contact_email=contact_email, contact_phone=contact_phone)
    try:
        with transaction.atomic():
            request = SupportRequest.objects.create(
                user=user,
                topic=topic,
                message=message,
                **line_fields(line if user is not None else None),
                contact_email=User.objects.normalize_email(contact_email) if user is None else "",
                contact_phone=contact_phone or "" if user is None else "",
                token=token,
                language=translation.get_language() or "",
            )
            delivery = EmailDelivery.objects.create(support_request=request, to=settings.SUPPORT_EMAIL)
            email_deliver_on_commit(delivery.pk)
            if user is not None:
                notice_create(
                    user=user,
                    kind=Notice.Kind.SUPPORT_RECEIVED,
                    key=support_received_key(support_request_id=request.pk),
                    params={"ref": request.reference},
                    link="/support/",
                )
    except IntegrityError:  # the same token, posted twice at once: the other post made it
        done = SupportRequest.objects.filter(token=token).first() if token is not None else None
        if done is None:
            raise
        return _same_sender(done, user=user, contact_email=contact_email, contact_phone=contact_phone)
    return request


def _same_sender(
    request: SupportRequest, *, user: User | None, contact_email: str, contact_phone: PhoneNumber | None
) -> SupportRequest:
    if user is not None:
        same = request.user_id == user.pk
    else:
        same = request.user_id is None and (
            request.contact_email == User.objects.normalize_email(contact_email)
            and str(request.contact_phone or "") == str(contact_phone or "")
        )
    if not same:
        raise ValidationError(_("This form has expired. Please write your message again."), code="token")
    return request


def support_code_send(*, phone: PhoneNumber, language: str = "", client_address: str = "") -> None:
    """Send a code that proves the logged-out writer holds ``phone``; the SMS code limits (per
    number, and per network address) apply as for registration and password resets."""
    sms_code_send(phone=phone, purpose=SmsCode.Purpose.SUPPORT, language=language, client_address=client_address)


def support_request_create_by_phone(
    *, phone: PhoneNumber, code: str, topic: str, message: str, token: uuid.UUID | None = None
) -> SupportRequest:
    """Store a logged-out request once the code sent to ``phone`` is right (wrong tries counted)."""
    if token is not None and (done := SupportRequest.objects.filter(token=token).first()) is not None:
        return _same_sender(done, user=None, contact_email="", contact_phone=phone)
    sms_code_check(phone=phone, purpose=SmsCode.Purpose.SUPPORT, code=code)
    return support_request_create(topic=topic, message=message, contact_phone=phone, token=token)
