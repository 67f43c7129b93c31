from django.contrib import admin
from django.http import HttpRequest

from boomcard.audit import AuditedAdmin
from plans.models import DailyUsage, UsageRecord


class ReadOnlyAdmin(AuditedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ("record_id", "line", "kind", "amount", "overage", "country", "at")
    list_filter = ("kind",)
    # The exact record id, on its unique index. Not the line: the records have no index by line
    # (plans.models.UsageRecord), so that search would read the whole table; a line's use is in
    # its daily totals (below, searchable by number) and on its customer's page.
    search_fields = ("=record_id",)
    list_select_related = ("line",)
    show_full_result_count = False


@admin.register(DailyUsage)
class DailyUsageAdmin(AuditedAdmin):
    list_display = ("line", "day", "data", "voice", "sms", "data_overage")
    search_fields = ("line__msisdn",)
    list_select_related = ("line",)
    date_hierarchy = "day"
