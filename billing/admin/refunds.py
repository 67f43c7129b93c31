"""Refunding an order from its admin page: a form (reason, note, amount in full or in part), a
confirmation that says what will happen, then the refund through ``billing.services``, recorded
in the audit trail. The order's page lists its refunds and its History page the trail's entries.

The confirmation carries a key made when it is shown: sending it twice (a double click, a
reload) finds the refund it made, never a second one."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import Order, Refund
from billing.refund_shares import RefundPreview, order_refund_left, order_refunded, refund_preview
from boomcard.audit import audit_action
from boomcard.formats import EXPONENT, currency_symbol, money

KEY_LENGTH = 32


def minor_units(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(EXPONENT.get(currency, 2)))


def major_units(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-EXPONENT.get(currency, 2))


class RefundForm(forms.Form):
    """What staff ask for: how much, why. The amount is in major units of the order's currency."""

    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "---------"), *Refund.Reason.choices])
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("For the order's history: what happened, who asked. Not shown to the customer."),
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=12, decimal_places=2)
    key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, order: Order, left_minor: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order, self.left_minor = order, left_minor
        currency = order.currency
        amount = self.fields["amount"]
        amount.label = gettext("Amount (%(currency)s, %(symbol)s)") % {
            "currency": currency,
            "symbol": currency_symbol(currency),
        }
        amount.help_text = gettext("At most %(left)s is left to refund. Leave it as it is to refund all of it.") % {
            "left": money(left_minor, currency)
        }
        amount.initial = major_units(left_minor, currency)
        amount.widget.attrs.update({"step": "0.01", "min": "0.01", "inputmode": "decimal"})

    def clean_amount(self) -> int:
        amount: Decimal | None = self.cleaned_data.get("amount")
        if amount is None:
            raise ValidationError(gettext("Enter the amount to refund."), code="required")
        try:
            amount_minor = minor_units(amount, self.order.currency)
        except (InvalidOperation, ValueError) as error:
            raise ValidationError(gettext("Enter a number."), code="invalid") from error
        if amount_minor <= 0:
            raise ValidationError(gettext("The amount to refund must be more than 0."), code="amount_not_positive")
        if amount_minor > self.left_minor:
            raise ValidationError(
                gettext("At most %(left)s is left to refund of this order.")
                % {"left": money(self.left_minor, self.order.currency)},
                code="amount_too_large",
            )
        return amount_minor

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == Refund.Reason.OTHER and not cleaned.get("note", "").strip():
            self.add_error("note", gettext("Say why in the note when the reason is “Other”."))
        return cleaned


class RefundInline(admin.TabularInline[Refund, Order]):
    """The order's refunds, newest first: Stripe's id, amount, state, reason, who and when."""

    model = Refund
    fields = (
        "stripe_refund_id",
        "amount",
        "status",
        "reason_shown",
        "note",
        "requested_by",
        "created_at",
        "succeeded_at",
        "failure_reason",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("refunds")

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("requested_by")

    @admin.display(description=_("amount"))
    def amount(self, refund: Refund) -> str:
        return money(refund.amount_minor, refund.currency)

    @admin.display(description=_("reason"))
    def reason_shown(self, refund: Refund) -> str:
        return refund.get_reason_code_display() if refund.reason_code else refund.reason


class OrderRefundAdmin(admin.ModelAdmin[Order]):
    """The refund pages of ``OrderAdmin`` (a mixin): staff with the right to change orders
    refund one from its page, through a confirmation."""

    refund_template = "admin/billing/order/refund.html"

    def has_refund_permission(self, request: HttpRequest) -> bool:
        # The admin itself is read-only; refunding needs the staff member's own right to change orders.
        return request.user.has_perm("billing.change_order")

    def get_urls(self) -> list[URLPattern]:
        refund = path(
            "<path:object_id>/refund/",
            self.admin_site.admin_view(self.refund_view),
            name="billing_order_refund",
        )
        return [refund, *super().get_urls()]

    def refund_url(self, request: HttpRequest, order: Order) -> str:
        """The refund page's address, when this staff member may refund this order now."""
        if not self.has_refund_permission(request) or order_refund_left(order=order) <= 0:
            return ""
        return reverse("admin:billing_order_refund", args=[order.pk], current_app=self.admin_site.name)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        order = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}), "refund_url": self.refund_url(request, order) if order else ""}
        return super().change_view(request, object_id, form_url, context)

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            self.message_user(request, gettext("There is no such order."), messages.WARNING)
            return HttpResponseRedirect(reverse("admin:billing_order_changelist", current_app=self.admin_site.name))
        change_url = reverse("admin:billing_order_change", args=[order.pk], current_app=self.admin_site.name)
        left = order_refund_left(order=order)
        if not request.POST.get("key"):
            try:  # not paid, refunded, out of the wallet's window: said before anything is filled in
                services.order_refund_check(order=order)
            except ValidationError as refused:
                self.message_user(request, " ".join(refused.messages), messages.ERROR)
                return HttpResponseRedirect(change_url)
        if request.method != "POST":
            return self._refund_page(request, order, RefundForm(order=order, left_minor=left))
        form = RefundForm(request.POST, order=order, left_minor=left)
        confirming = "_confirm" in request.POST and bool(request.POST.get("key"))
        if confirming and Refund.objects.filter(order=order, request_key=request.POST["key"]).exists():
            # The same confirmation again (a double click, a reload): the refund it made, once.
            return self._refund_confirm(request, order, form, change_url, resent=True)
        if not form.is_valid() or "_back" in request.POST:
            return self._refund_page(request, order, form)
        if not confirming:
            try:
                services.order_refund_check(order=order, amount_minor=form.cleaned_data["amount"])
            except ValidationError as refused:
                form.add_error(None, refused)
                return self._refund_page(request, order, form)
            preview = refund_preview(order=order, amount_minor=form.cleaned_data["amount"])
            confirm = RefundForm(
                initial={**form.cleaned_data, "amount": major_units(preview.amount_minor, order.currency)},
                order=order,
                left_minor=left,
            )
            confirm.initial["key"] = secrets.token_urlsafe(KEY_LENGTH)[:KEY_LENGTH]
            return self._refund_page(request, order, confirm, preview=preview)
        return self._refund_confirm(request, order, form, change_url)

    def _refund_confirm(
        self, request: HttpRequest, order: Order, form: RefundForm, change_url: str, *, resent: bool = False
    ) -> HttpResponse:
        if resent:
            form.is_valid()  # what was sent is not used again: the refund it made is found by its key
        data = {} if resent else form.cleaned_data
        try:
            outcome = services.order_refund_ask(
                order=order,
                amount_minor=data.get("amount"),
                reason_code=data.get("reason", ""),
                note=data.get("note", ""),
                staff=request.user,
                request_key=request.POST["key"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self._refund_page(request, order, form)
        refund = outcome.refund
        if outcome.created:
            _refund_audit(request, order, outcome)
        _refund_message(self, request, refund)
        return HttpResponseRedirect(change_url)

    def _refund_page(
        self, request: HttpRequest, order: Order, form: RefundForm, preview: RefundPreview | None = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Refund order %(order)s") % {"order": order.public_id},
            "order": order,
            "form": form,
            "preview": preview,
            "reason_label": Refund.Reason(form.initial["reason"]).label if preview else "",
            "paid": money(order.amount_minor, order.currency),
            "refunded": money(order_refunded(order=order), order.currency),
            "left": money(form.left_minor, order.currency),
        }
        return TemplateResponse(request, self.refund_template, context)


def _refund_audit(request: HttpRequest, order: Order, outcome: services.RefundOutcome) -> None:
    """The refund in the audit trail, on the order: who, how much, why, the total refunded."""
    refund = outcome.refund
    with translation.override("en"):  # the trail keeps one language; the reason's code is beside it
        reason = str(refund.get_reason_code_display()) if refund.reason_code else refund.reason
    audit_action(
        actor=request.user,
        obj=order,
        action="refund",
        changes={
            "refunded": (money(outcome.refunded_before, order.currency), money(outcome.refunded_after, order.currency))
        },
        reason=f"{reason}: {refund.note}" if refund.note else reason,
        request=request,
        refund=refund.stripe_refund_id or f"refund {refund.pk}",
        amount=money(refund.amount_minor, refund.currency),
        status=refund.status,
        reason_code=refund.reason_code,
        note=refund.note,
        failure_reason=refund.failure_reason,
    )


def _refund_message(model_admin: admin.ModelAdmin[Order], request: HttpRequest, refund: Refund) -> None:
    """Say how the refund went, with Stripe's id and, if it refused, why."""
    amount = money(refund.amount_minor, refund.currency)
    values = {"amount": amount, "id": refund.stripe_refund_id or "", "reason": refund.failure_reason}
    if refund.status == Refund.Status.SUCCEEDED:
        text, level = gettext("Refunded %(amount)s (refund %(id)s)."), messages.SUCCESS
    elif refund.status == Refund.Status.FAILED:
        text, level = gettext("The payment service refused the refund of %(amount)s: %(reason)s"), messages.ERROR
    elif refund.status == Refund.Status.PENDING:
        text = gettext("Refund %(id)s of %(amount)s accepted; the payment service confirms it later.")
        level = messages.WARNING
    else:
        text = gettext(
            "Refund of %(amount)s requested, but the payment service has not answered yet. "
            "It is asked again within minutes; do not refund again."
        )
        level = messages.WARNING
    model_admin.message_user(request, text % values, level)
