"""Turning an outbox row into an email: in the customer's language and time zone, HTML and text.
Staff alerts are written in the site's language and the customers' default time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import EmailDelivery, Notice, StaffAlert, SupportMessage, SupportRequest, User
from accounts.notice_text import NoticeText, notice_text, staff_alert_text


def _message_id(delivery: EmailDelivery) -> str:
    # One id per outbox row, the same on every try, so that a resend (accounts.outbox.email_send)
    # can be recognised by mail systems and people. The row's creation time keeps the ids of two
    # databases (production, a restored copy, a demo) apart; the domain is the sender's.
    written = delivery.created_at.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or str(DNS_NAME)
    return f"<email-{delivery.pk}.{written}@{domain}>"


def delivery_email(delivery: EmailDelivery) -> EmailMultiAlternatives:
    if delivery.notice is not None:
        return _notice_email(delivery, delivery.notice)
    if delivery.support_request is not None:
        return _support_email(delivery, delivery.support_request)
    if delivery.staff_alert is not None:
        return _staff_alert_email(delivery, delivery.staff_alert)
    if delivery.support_message is not None:
        return _support_message_email(delivery, delivery.support_message)
    if delivery.email_verification_for is not None:
        return _email_verification_email(delivery, delivery.email_verification_for)
    raise ValueError(f"email {delivery.pk} has nothing to send")


def _customer_zone(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or settings.CUSTOMER_DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.CUSTOMER_DEFAULT_TIME_ZONE)


def _notice_email(delivery: EmailDelivery, notice: Notice) -> EmailMultiAlternatives:
    user = notice.user
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(_customer_zone(user)):
        text = notice_text(notice)
        link = f"{settings.SITE_URL.rstrip('/')}{notice.link}" if notice.link else settings.SITE_URL
    return _customer_email(delivery, text=text, link=link, language=language, notice=notice)


def _email_verification_email(delivery: EmailDelivery, user: User) -> EmailMultiAlternatives:
    """The link that confirms a new address, sent to that address only (never shown in the site)."""
    from accounts.email_change import EMAIL_LINK_HOURS, email_change_link

    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        text = NoticeText(
            title=_("Confirm your new email"),
            body=_(
                "Follow this link within %(hours)d hours to make %(email)s the email of your Boom account. "
                "If you did not ask for this, ignore this email: nothing changes."
            )
            % {"hours": EMAIL_LINK_HOURS, "email": delivery.to},
            action=_("Confirm this email"),
        )
    return _customer_email(delivery, text=text, link=email_change_link(delivery), language=language)


def _customer_email(
    delivery: EmailDelivery, *, text: NoticeText, link: str, language: str, notice: Notice | None = None
) -> EmailMultiAlternatives:
    with translation.override(language):
        context = {"text": text, "notice": notice, "link": link, "site_url": settings.SITE_URL, "language": language}
        body = render_to_string("emails/notice.txt", context)
        html = render_to_string("emails/notice.html", context)
    return _email(delivery, subject=f"Boom: {text.title}", body=body, html=html)


def _email(
    delivery: EmailDelivery, *, subject: str, body: str, html: str = "", reply_to: str = ""
) -> EmailMultiAlternatives:
    """The outbox row's email: from the site, to the row's address, with the row's Message-ID."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.to],
        reply_to=[reply_to] if reply_to else None,
        headers={"Message-ID": _message_id(delivery)},
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _support_email(
    delivery: EmailDelivery, request: SupportRequest, *, message: SupportMessage | None = None
) -> EmailMultiAlternatives:
    """A request (or the customer's ``message`` in its thread) to support, with the queue's link."""
    user = request.user
    admin_link = f"{settings.SITE_URL.rstrip('/')}/admin/accounts/supportrequest/{request.pk}/change/"
    body = render_to_string(
        "emails/support_request.txt", {"request": request, "user": user, "message": message, "admin_link": admin_link}
    )
    sender = str(user.phone) if user is not None else request.contact_email or str(request.contact_phone)
    reply_to = user.email if user is not None else request.contact_email
    subject = f"[{request.reference}] {'Re: ' if message else ''}{request.get_topic_display()} – {sender}"
    return _email(delivery, subject=subject, body=body, reply_to=reply_to or "")


def _support_message_email(delivery: EmailDelivery, message: SupportMessage) -> EmailMultiAlternatives:
    """Staff's reply, to the writer in their language (the account's, else the one the request
    was written in); the customer's reply, to support like the request itself."""
    request = message.request
    if message.kind != SupportMessage.Kind.REPLY:
        return _support_email(delivery, request, message=message)
    user = request.user
    language = (user.language if user is not None else request.language) or settings.LANGUAGE_CODE
    site = settings.SITE_URL.rstrip("/")
    with translation.override(language):
        if user is not None:
            link, action = f"{site}/support/{request.pk}/", _("Read the answer and reply")
        else:
            link, action = f"{site}/support/", _("Write to us again")
        text = NoticeText(
            title=_("Our answer to your request %(ref)s") % {"ref": request.reference}, body="", action=action
        )
        context = {
            "text": text,
            "message": message,
            "request": request,
            "link": link,
            "site_url": settings.SITE_URL,
            "language": language,
            "logged_out": user is None,
        }
        body = render_to_string("emails/support_reply.txt", context)
        html = render_to_string("emails/support_reply.html", context)
    return _email(delivery, subject=f"Boom: {text.title}", body=body, html=html, reply_to=settings.SUPPORT_EMAIL)


def _staff_alert_email(delivery: EmailDelivery, alert: StaffAlert) -> EmailMultiAlternatives:
    zone = zoneinfo.ZoneInfo(settings.CUSTOMER_DEFAULT_TIME_ZONE)
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone):
        text = staff_alert_text(alert)
        context = {
            "text": text,
            "link": f"{settings.SITE_URL.rstrip('/')}{alert.link}" if alert.link else settings.SITE_URL,
            "language": settings.LANGUAGE_CODE,
        }
        body = render_to_string("emails/staff_alert.txt", context)
        html = render_to_string("emails/staff_alert.html", context)
    return _email(delivery, subject=f"[Boom] {text.title}", body=body, html=html)
