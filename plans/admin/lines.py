from django.contrib import admin

from plans.models import Bucket, Line


@admin.register(Line)
class LineAdmin(admin.ModelAdmin[Line]):
    list_display = ["msisdn", "iccid", "status", "owner", "nickname", "added_at"]
    list_filter = ["status"]
    search_fields = ["msisdn", "iccid", "eid", "owner__phone", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created_at", "added_at"]


@admin.register(Bucket)
class BucketAdmin(admin.ModelAdmin[Bucket]):
    list_display = ("line", "plan", "is_addon", "data_total", "data_used", "starts_at", "expires_at")
    list_filter = ("is_addon", "plan")
    search_fields = ("line__msisdn", "line__iccid")
    raw_id_fields = ("line",)
    list_select_related = ("line", "plan")
    date_hierarchy = "expires_at"
