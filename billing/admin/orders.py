"""Staff look up orders, payments and Stripe's events here, and refund orders. Nothing else is
edited by hand: every change to an order goes through ``billing.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.admin.common import ReadOnlyAdmin
from billing.models import Dispute, Order, OrderItem, Refund
from boomcard.formats import money


class DisputedFilter(admin.SimpleListFilter):
    title = _("disputed")
    parameter_name = "disputed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [("yes", gettext("Yes")), ("no", gettext("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(is_disputed=True)
        if self.value() == "no":
            return queryset.filter(is_disputed=False)
        return queryset


class DisputeInline(admin.TabularInline[Dispute, Order]):
    model = Dispute
    fields = ("stripe_dispute_id", "status", "reason", "amount", "evidence_due_by", "opened_at", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description=_("amount"))
    def amount(self, dispute: Dispute) -> str:
        return money(dispute.amount_minor, dispute.currency)


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    """What the order buys, and the bucket each item made once paid."""

    model = OrderItem
    fields = ("position", "plan", "flex_data_gb", "flex_minutes", "amount", "bucket")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("order", "plan", "bucket")

    @admin.display(description=_("amount"))
    def amount(self, item: OrderItem) -> str:
        return money(item.amount_minor, item.order.currency)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin[Order]):
    list_display = ("public_id", "user", "line", "plan", "amount", "currency", "status", "disputed", "created_at")
    list_filter = ("status", DisputedFilter, "kind", "currency", "payment_method_type", "off_session", "created_at")
    search_fields = ("public_id", "user__phone", "line__msisdn", "payment_intent_id")
    list_select_related = ("user", "line", "plan")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("refund_in_full",)
    fieldsets = (
        (None, {"fields": ("public_id", "user", "line", "plan", "kind", "status", "failure_reason")}),
        (
            _("Payment"),
            {
                "fields": (
                    "amount",
                    "currency",
                    "payment_intent_id",
                    "payment_method_type",
                    "card_brand",
                    "card_last4",
                    "off_session",
                    "renews_expiry",
                )
            },
        ),
        (_("Flexible plan"), {"fields": ("flex_data_gb", "flex_minutes")}),
        (_("Dates"), {"fields": ("created_at", "updated_at", "paid_at", "fulfilled_at", "refunded_at")}),
    )
    readonly_fields = ("amount",)
    inlines = (OrderItemInline, DisputeInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        # One subquery, not a query per row, for the list's "disputed" column and filter.
        return super().get_queryset(request).annotate(is_disputed=Exists(Dispute.objects.filter(order=OuterRef("pk"))))

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, order: Order) -> str:
        return money(order.amount_minor, order.currency)

    @admin.display(description=_("disputed"), boolean=True, ordering="is_disputed")
    def disputed(self, order: Order) -> bool:
        return bool(getattr(order, "is_disputed", False))

    def has_refund_permission(self, request: HttpRequest) -> bool:
        # The admin itself is read-only; refunding needs the staff member's own right to change orders.
        return request.user.has_perm("billing.change_order")

    @admin.action(description=_("Refund selected orders in full"), permissions=["refund"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """Refund each order through the service, one transaction each, and say how each went:
        one order that cannot be refunded does not stop the others."""
        for order in queryset.order_by("pk"):
            try:
                refund = services.order_refund(order=order, reason="staff: refund in full")
            except ValidationError as error:
                self.message_user(request, f"{order.public_id}: {' '.join(error.messages)}", messages.ERROR)
                continue
            amount = money(refund.amount_minor, refund.currency)
            if refund.status == Refund.Status.SUCCEEDED:
                text, level = gettext("%(order)s: refunded %(amount)s."), messages.SUCCESS
            elif refund.status == Refund.Status.FAILED:
                text, level = gettext("%(order)s: the payment service refused the refund: %(reason)s"), messages.ERROR
            elif refund.status == Refund.Status.PENDING:
                text = gettext("%(order)s: refund of %(amount)s accepted; the payment service confirms it later.")
                level = messages.WARNING
            else:
                text = gettext(
                    "%(order)s: refund of %(amount)s requested, but the payment service has not answered yet. "
                    "It is asked again within minutes; do not refund again."
                )
                level = messages.WARNING
            self.message_user(
                request, text % {"order": order.public_id, "amount": amount, "reason": refund.failure_reason}, level
            )
