"""Refunds, disputes, Stripe's events, saved cards (with the monthly limit), reminders and
automatic renewals (told, skipped, the plan chosen): read-only records."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing.admin.common import ReadOnlyAdmin
from billing.models import AutoRenewal, Dispute, PaymentProfile, Refund, RenewalReminder, StripeEvent
from boomcard.audit import AuditHistoryAdmin
from boomcard.formats import money


@admin.register(Refund)
class RefundAdmin(AuditHistoryAdmin, ReadOnlyAdmin[Refund]):
    list_display = (
        "order",
        "amount",
        "status",
        "stripe_refund_id",
        "reason_code",
        "requested_by",
        "created_at",
        "succeeded_at",
    )
    list_filter = ("status", "reason_code", "currency", "created_at")
    search_fields = ("order__public_id", "stripe_refund_id", "order__payment_intent_id")
    list_select_related = ("order", "requested_by")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, refund: Refund) -> str:
        return money(refund.amount_minor, refund.currency)


@admin.register(Dispute)
class DisputeAdmin(AuditHistoryAdmin, ReadOnlyAdmin[Dispute]):
    list_display = ("stripe_dispute_id", "order", "amount", "status", "reason", "evidence_due_by", "created_at")
    list_filter = ("status", "reason", "created_at")
    search_fields = ("stripe_dispute_id", "order__public_id", "order__user__phone", "order__payment_intent_id")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, dispute: Dispute) -> str:
        return money(dispute.amount_minor, dispute.currency)


class StripeEventStateFilter(admin.SimpleListFilter):
    """Where an event stands: processed, waiting for its task (or the sweep), or given up by the
    sweep after its last try (processing it is then the staff's call)."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[StripeEvent]) -> list[tuple[str, str]]:
        return [("processed", gettext("processed")), ("waiting", gettext("waiting")), ("given_up", gettext("given up"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> QuerySet[StripeEvent]:
        given_up = Q(processed_at__isnull=True, attempts__gte=StripeEvent.SWEEP_ATTEMPTS)
        if self.value() == "processed":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(processed_at__isnull=True).exclude(given_up)
        if self.value() == "given_up":
            return queryset.filter(given_up)
        return queryset


@admin.register(StripeEvent)
class StripeEventAdmin(AuditHistoryAdmin, ReadOnlyAdmin[StripeEvent]):
    list_display = ("event_id", "type", "payment_intent_id", "received_at", "state", "processed_at", "outcome")
    list_filter = (StripeEventStateFilter, "type")
    search_fields = ("event_id", "payment_intent_id")
    date_hierarchy = "received_at"
    show_full_result_count = False

    @admin.display(description=_("state"))
    def state(self, event: StripeEvent) -> str:
        if event.processed_at is not None:
            return gettext("processed")
        if event.given_up:
            return ngettext("given up after %(tries)d try", "given up after %(tries)d tries", event.attempts) % {
                "tries": event.attempts
            }
        return gettext("waiting")


@admin.register(PaymentProfile)
class PaymentProfileAdmin(AuditHistoryAdmin, ReadOnlyAdmin[PaymentProfile]):
    list_display = ("stripe_customer_id", "user", "card_brand", "card_last4", "monthly_cap_minor", "created_at")
    search_fields = ("stripe_customer_id", "user__phone", "user__email")
    list_select_related = ("user",)


@admin.register(RenewalReminder)
class RenewalReminderAdmin(AuditHistoryAdmin, ReadOnlyAdmin[RenewalReminder]):
    list_display = ("line", "expires_at", "days", "created_at")
    list_filter = ("days",)
    search_fields = ("line__msisdn",)
    list_select_related = ("line",)


@admin.register(AutoRenewal)
class AutoRenewalAdmin(AuditHistoryAdmin, ReadOnlyAdmin[AutoRenewal]):
    """What the desk answers "was I told, did I skip it?" from: each expiry's automatic renewal."""

    list_display = ("line", "expires_at", "plan", "notified_at", "skipped_at", "created_at")
    list_filter = (("skipped_at", admin.EmptyFieldListFilter), ("notified_at", admin.EmptyFieldListFilter))
    search_fields = ("line__msisdn",)
    list_select_related = ("line", "plan")
