"""What the accounts app shows on the customer's page in the admin (accounts.admin.customer_page):
notices and emails (with *Send again*), support requests, the second step (with *Reset
authenticator*) and failed log-ins (with *Unlock*). Plans adds the lines, billing the orders and
the saved card.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors
from accounts.admin.customer_page import CustomerAction, CustomerPanel, customer_action_url
from accounts.admin.customers import UserAdmin
from accounts.lockout import account_key
from accounts.models import EmailDelivery, Notice, SupportRequest, User
from accounts.notice_text import notice_text
from accounts.services import desk
from boomcard.audit import audit_action
from boomcard.formats import date_time


def admin_link(model: type[Any], pk: object) -> str:
    """The object's page in the admin, or "" while its model has no admin."""
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def _email_row(delivery: EmailDelivery | None) -> dict[str, Any] | None:
    if delivery is None:
        return None
    return {
        "pk": delivery.pk,
        "to": delivery.to,
        "status": delivery.get_status_display(),
        "status_code": delivery.status,
        "sent_at": date_time(delivery.sent_at),
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "link": admin_link(EmailDelivery, delivery.pk),
    }


def messages_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """Two queries."""
    notices = [
        {
            "kind": notice.get_kind_display(),
            "title": notice_text(notice).title,
            "line": notice.line_number,
            "created_at": date_time(notice.created_at),
            "read_at": date_time(notice.read_at),
            "link": admin_link(Notice, notice.pk),
            "email": _email_row(getattr(notice, "email", None)),
        }
        for notice in selectors.notices_of(user=customer)
    ]
    links = [
        {"created_at": date_time(delivery.created_at), "email": _email_row(delivery)}
        for delivery in selectors.email_links_of(user=customer)
    ]
    return {"notices": notices, "email_links": links, "resend_url": customer_action_url(customer, "resend-email")}


def support_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """One query."""
    rows = [
        {
            "reference": support.reference,
            "topic": support.get_topic_display(),
            "status": support.get_status_display(),
            "line": support.line_number,
            "created_at": date_time(support.created_at),
            "message": support.message,
            "link": admin_link(SupportRequest, support.pk),
        }
        for support in selectors.support_requests_for_desk(user=customer)
    ]
    return {"requests": rows}


def second_step_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """Two queries."""
    return {
        "second_step": selectors.second_step_of(user=customer),
        "reset_url": customer_action_url(customer, "reset-authenticator"),
    }


def lockout_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """One query."""
    failures = selectors.login_failures_of(user=customer)
    rows = [
        {
            "address": row.address,
            "failures": row.failures,
            "last_at": date_time(row.last_at),
            "locked_until": date_time(row.locked_until),
        }
        for row in failures
    ]
    return {
        "failures": rows,
        "locked": any(row.locked_until for row in failures),
        "unlock_url": customer_action_url(customer, "unlock"),
    }


def _target_id(target: str) -> int:
    try:
        return int(target)
    except ValueError:
        return 0


def resend_email(request: HttpRequest, customer: User, target: str, reason: str) -> str:
    with transaction.atomic():
        done = desk.email_resend(user=customer, delivery_id=_target_id(target))
        audit_action(
            actor=request.user,
            obj=customer,
            action="email_resend",
            changes={"email": (f"{done.old_to} ({done.old_status})", f"{done.delivery.to} (pending)")},
            reason=reason,
            request=request,
            email_id=done.delivery.pk,
        )
    return _("The email is on its way again to %(to)s.") % {"to": done.delivery.to}


def reset_authenticator(request: HttpRequest, customer: User, target: str, reason: str) -> str:
    with transaction.atomic():
        before = selectors.second_step_of(user=customer)
        desk.two_factor_reset(user=customer)
        audit_action(
            actor=request.user,
            obj=customer,
            action="two_factor_reset",
            changes={
                "authenticator": ("on" if before.authenticator_on else "off", "off"),
                "recovery_codes": (before.recovery_codes_left, 0),
            },
            reason=reason,
            request=request,
        )
    return _("The authenticator app and recovery codes are removed; the customer was told.")


def unlock(request: HttpRequest, customer: User, target: str, reason: str) -> str:
    with transaction.atomic():
        count = desk.login_unlock(user=customer)
        audit_action(
            actor=request.user,
            obj=customer,
            action="unlock",
            changes={"failed_log_in_addresses": (count, 0)},
            reason=reason,
            request=request,
            login=account_key(customer),
        )
    return _("Failed log-ins forgotten: the customer can log in again at once.")


UserAdmin.panel_add(
    CustomerPanel(
        "messages", 30, gettext_lazy("Notices and emails"), "admin/accounts/user/messages.html", messages_panel
    )
)
UserAdmin.panel_add(
    CustomerPanel("support", 40, gettext_lazy("Support requests"), "admin/accounts/user/support.html", support_panel)
)
UserAdmin.panel_add(
    CustomerPanel(
        "second-step", 50, gettext_lazy("Two-step log-in"), "admin/accounts/user/second_step.html", second_step_panel
    )
)
UserAdmin.panel_add(
    CustomerPanel("lockout", 60, gettext_lazy("Failed log-ins"), "admin/accounts/user/lockout.html", lockout_panel)
)
UserAdmin.action_add(CustomerAction("resend-email", "messages", gettext_lazy("Send the email again"), resend_email))
UserAdmin.action_add(
    CustomerAction(
        "reset-authenticator",
        "second-step",
        gettext_lazy("Reset the authenticator"),
        reset_authenticator,
        confirm=gettext_lazy(
            "Remove this customer's authenticator app and recovery codes? They will log in with their password "
            "alone until they set up a new one, and are told by a notice and an email."
        ),
    )
)
UserAdmin.action_add(CustomerAction("unlock", "lockout", gettext_lazy("Unlock log-in"), unlock))
