from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from boomcard.audit import AuditedAdmin
from plans.models import Plan, Price


class PriceInline(admin.TabularInline[Price, Plan]):
    model = Price
    extra = 0
    fields = ("currency", "amount_minor", "per_gb_minor", "per_100_minutes_minor")


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
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
        (_("Names"), {"fields": ("name_en", "name_zh", "description_en", "description_zh")}),
        (_("Allowance"), {"fields": ("data_mb", "minutes", "sms", "validity_days", "countries")}),
        (
            _("Flexible plan"),
            {"fields": ("flex_data_gb_min", "flex_data_gb_max", "flex_minutes_min", "flex_minutes_max")},
        ),
    )
