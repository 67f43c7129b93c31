"""The customer's orders and saved card on their page in the admin (accounts.admin.customer_page),
and *Remove card*: the card kept for auto-renew is forgotten through the billing services, and
auto-renew turned off on the customer's lines."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import UserAdmin
from accounts.admin.customer_page import CustomerAction, CustomerPanel, customer_action_url
from accounts.models import User
from billing import services
from billing.models import PaymentProfile
from billing.selectors import orders_for_desk
from boomcard.audit import audit_action
from boomcard.formats import date_time, money, phone_number


def orders_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """Two queries."""
    orders, total = orders_for_desk(user=customer)
    rows = [
        {
            "public_id": order.public_id,
            "link": reverse("admin:billing_order_change", args=[order.pk]),
            "created_at": date_time(order.created_at),
            "line": phone_number(order.line.msisdn),
            "plan": order.plan.name,
            "kind": order.get_kind_display(),
            "status": order.get_status_display(),
            "status_code": order.status,
            "amount": money(order.amount_minor, order.currency),
            "refunded": money(order.refunded_minor, order.currency) if order.refunded_minor else "",  # type: ignore[attr-defined]
            "method": " ".join(filter(None, [order.payment_method_type, order.card_brand, order.card_last4])),
            "failure": order.failure_reason,
        }
        for order in orders
    ]
    all_orders = f"{reverse('admin:billing_order_changelist')}?user__id__exact={customer.pk}"
    return {"orders": rows, "total": total, "more": total > len(rows), "all_orders_url": all_orders}


def card_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """One query."""
    profile = PaymentProfile.objects.filter(user=customer).first()
    return {
        "profile": profile,
        "has_card": profile is not None and profile.has_card,
        "remove_url": customer_action_url(customer, "remove-card"),
    }


def _card_text(profile: PaymentProfile | None) -> str:
    if profile is None or not profile.has_card:
        return ""
    return f"{profile.card_brand} •••• {profile.card_last4}"


def remove_card(request: HttpRequest, customer: User, target: str, reason: str) -> str:
    with transaction.atomic():
        before = _card_text(PaymentProfile.objects.filter(user=customer).first())
        if not before:
            raise ValidationError(_("This customer has no saved card."), code="no_card")
        lines = services.auto_renew_card_remove(user=customer)
        audit_action(
            actor=request.user,
            obj=customer,
            action="card_remove",
            changes={"card": (before, ""), "lines_with_auto_renew": (lines, 0)},
            reason=reason,
            request=request,
        )
    return _("The saved card %(card)s is removed; auto-renew is off on the customer's lines.") % {"card": before}


UserAdmin.panel_add(
    CustomerPanel("orders", 20, gettext_lazy("Orders"), "admin/billing/customer_orders.html", orders_panel)
)
UserAdmin.panel_add(
    CustomerPanel("card", 70, gettext_lazy("Saved card"), "admin/billing/customer_card.html", card_panel)
)
UserAdmin.action_add(
    CustomerAction(
        "remove-card",
        "card",
        gettext_lazy("Remove the saved card"),
        remove_card,
        confirm=gettext_lazy(
            "Remove this customer's saved card? Auto-renew is turned off on all their lines; they can save a card "
            "again when they next pay."
        ),
    )
)
