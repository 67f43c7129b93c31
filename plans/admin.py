from django.contrib import admin
from django.http import HttpRequest

from accounts.admin import UserAdmin
from accounts.models import User
from plans.models import Bucket, DailyUsage, Line, Plan, Price, UsageRecord


class LineInline(admin.TabularInline[Line, User]):
    model = Line
    fields = ("msisdn", "iccid", "status", "nickname", "added_at")
    readonly_fields = ("msisdn", "iccid", "status", "nickname", "added_at")
    extra = 0
    can_delete = False
    show_change_link = True


# The customer's page in the admin (accounts.admin.UserAdmin) lists their lines.
UserAdmin.inlines = [*UserAdmin.inlines, LineInline]


@admin.register(Line)
class LineAdmin(admin.ModelAdmin[Line]):
    list_display = ["msisdn", "iccid", "status", "owner", "nickname", "added_at"]
    list_filter = ["status"]
    search_fields = ["msisdn", "iccid", "eid", "owner__phone", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created_at", "added_at"]


class PriceInline(admin.TabularInline[Price, Plan]):
    model = Price
    extra = 0
    fields = ("currency", "amount_minor", "per_gb_minor", "per_100_minutes_minor")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin[Plan]):
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
        ("Names", {"fields": ("name_en", "name_zh", "description_en", "description_zh")}),
        ("Allowance", {"fields": ("data_mb", "minutes", "sms", "validity_days", "countries")}),
        (
            "Flexible plan",
            {"fields": ("flex_data_gb_min", "flex_data_gb_max", "flex_minutes_min", "flex_minutes_max")},
        ),
    )


@admin.register(Bucket)
class BucketAdmin(admin.ModelAdmin[Bucket]):
    list_display = ("line", "plan", "is_addon", "data_total", "data_used", "starts_at", "expires_at")
    list_filter = ("is_addon", "plan")
    search_fields = ("line__msisdn", "line__iccid")
    raw_id_fields = ("line",)
    list_select_related = ("line", "plan")
    date_hierarchy = "expires_at"


class ReadOnlyAdmin(admin.ModelAdmin[UsageRecord]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ("record_id", "line", "kind", "amount", "overage", "country", "at")
    list_filter = ("kind",)
    search_fields = ("record_id", "line__msisdn")
    list_select_related = ("line",)
    show_full_result_count = False


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin[DailyUsage]):
    list_display = ("line", "day", "data", "voice", "sms", "data_overage")
    search_fields = ("line__msisdn",)
    list_select_related = ("line",)
    date_hierarchy = "day"
