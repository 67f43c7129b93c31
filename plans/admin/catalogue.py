"""The catalogue in the admin: plans with their prices (typed in major units), countries picked
from the ISO list, guard rails that refuse a plan on sale with a price missing, and a check page
listing every gap. Every change goes to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from boomcard.audit import AuditedAdmin
from plans.admin.catalogue_forms import PlanForm, PlanListForm, PriceForm, PriceFormSet, sale_gap_messages
from plans.catalogue_check import PlanGaps, catalogue_gaps
from plans.models import Plan, Price
from plans.models.catalogue import offered_currencies


def _unpriced_currencies(plan: Plan | None) -> list[str]:
    """The offered currencies a plan has no price in yet (all of them for a new plan)."""
    if plan is None or plan.pk is None:
        return offered_currencies()
    priced = set(plan.prices.values_list("currency", flat=True))
    return [currency for currency in offered_currencies() if currency not in priced]


class PriceInline(admin.TabularInline[Price, Plan]):
    """A plan's prices, one row per currency; a row for each currency still without a price is
    there to fill in."""

    model = Price
    form = PriceForm
    formset = PriceFormSet
    fields = ("currency", "amount_minor", "per_gb_minor", "per_100_minutes_minor")
    max_num = len(offered_currencies())

    def get_extra(self, request: HttpRequest, obj: Plan | None = None, **kwargs: Any) -> int:
        return len(_unpriced_currencies(obj))


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
    form = PlanForm
    list_display = (
        "code",
        "name_en",
        "name_zh",
        "kind",
        "is_addon",
        "data_mb",
        "minutes",
        "validity_days",
        "is_active",
    )
    list_editable = ("is_active",)
    list_filter = ("kind", "is_addon", "is_active")
    search_fields = ("code", "name_en", "name_zh")
    inlines = [PriceInline]
    fieldsets = (
        (None, {"fields": ("code", "kind", "is_addon", "is_active", "sort_order")}),
        (
            gettext_lazy("Names"),
            {"fields": ("name_en", "name_zh", "description_en", "description_zh")},
        ),
        (
            gettext_lazy("Allowance"),
            {"fields": ("data_mb", "minutes", "sms", "validity_days", "countries")},
        ),
        (
            gettext_lazy("Flexible plan"),
            {"fields": ("flex_data_gb_min", "flex_data_gb_max", "flex_minutes_min", "flex_minutes_max")},
        ),
    )

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        return super().get_changelist_form(request, form=PlanListForm, **kwargs)

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, PriceInline):
            kwargs["initial"] = [{"currency": currency} for currency in _unpriced_currencies(obj)]
        return kwargs

    def get_urls(self) -> list[URLPattern]:
        check = path("check/", self.admin_site.admin_view(self.check_view), name="plans_plan_check")
        return [check, *super().get_urls()]

    def check_view(self, request: HttpRequest) -> HttpResponse:
        """The catalogue check: each plan with a gap, and what to do about it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = [(gaps.plan, gap_messages(gaps)) for gaps in catalogue_gaps()]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Catalogue check"),
            "rows": rows,
            "currencies": ", ".join(offered_currencies()),
        }
        return TemplateResponse(request, "admin/plans/plan/check.html", context)


def gap_messages(gaps: PlanGaps) -> list[str]:
    """What the check page says about one plan."""
    messages = sale_gap_messages(gaps.sale)
    if gaps.unknown_countries:
        messages.append(
            _("Not ISO 3166-1 country codes: %(codes)s. Use two-letter codes in capitals, such as JP or KR.")
            % {"codes": ", ".join(gaps.unknown_countries)}
        )
    if gaps.roaming_without_countries:
        messages.append(_("A roaming pack needs at least one country."))
    if gaps.flexible_without_choice:
        messages.append(_("This flexible plan is on sale but lets customers pick neither data nor minutes."))
    return messages
