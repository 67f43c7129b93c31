"""Staff look up orders, payments and Stripe's events here, and refund orders (from the order's
page, ``billing.admin.refunds``). Nothing else is edited by hand: every change to an order goes
through ``billing.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.admin.search import PhoneSearchAdmin
from billing.admin.common import ReadOnlyAdmin
from billing.admin.refunds import OrderRefundAdmin, RefundInline
from billing.models import Dispute, Order, OrderItem
from billing.refund_shares import order_refund_left, order_refunded
from boomcard.audit import AuditHistoryAdmin
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
class OrderAdmin(OrderRefundAdmin, AuditHistoryAdmin, PhoneSearchAdmin, ReadOnlyAdmin[Order]):
    list_display = ("public_id", "user", "line", "plan", "amount", "currency", "status", "disputed", "created_at")
    list_filter = ("status", DisputedFilter, "kind", "currency", "payment_method_type", "off_session", "created_at")
    search_fields = ("public_id", "user__phone", "line__msisdn", "payment_intent_id")
    phone_search_fields = ["user__phone", "line__msisdn"]
    list_select_related = ("user", "line", "plan")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("refund",)
    fieldsets = (
        (None, {"fields": ("public_id", "user", "line", "plan", "kind", "status", "failure_reason")}),
        (
            _("Payment"),
            {
                "fields": (
                    "amount",
                    "currency",
                    "refunded",
                    "refund_left",
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
    readonly_fields = ("amount", "refunded", "refund_left")
    inlines = (OrderItemInline, RefundInline, DisputeInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        # One subquery, not a query per row, for the list's "disputed" column and filter.
        return super().get_queryset(request).annotate(is_disputed=Exists(Dispute.objects.filter(order=OuterRef("pk"))))

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, order: Order) -> str:
        return money(order.amount_minor, order.currency)

    @admin.display(description=_("refunded"))
    def refunded(self, order: Order) -> str:
        return money(order_refunded(order=order), order.currency)

    @admin.display(description=_("left to refund"))
    def refund_left(self, order: Order) -> str:
        return money(order_refund_left(order=order), order.currency)

    @admin.display(description=_("disputed"), boolean=True, ordering="is_disputed")
    def disputed(self, order: Order) -> bool:
        return bool(getattr(order, "is_disputed", False))

    @admin.action(description=_("Refund the selected order…"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        """One order at a time, through its refund page and its confirmation: never in bulk."""
        orders = list(queryset[:2])
        if len(orders) != 1:
            self.message_user(request, gettext("Refund one order at a time: select just one."), messages.ERROR)
            return None
        return HttpResponseRedirect(
            reverse("admin:billing_order_refund", args=[orders[0].pk], current_app=self.admin_site.name)
        )
