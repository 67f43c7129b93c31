from django.contrib import admin

from accounts.admin import UserAdmin
from accounts.models import User
from plans.models import Bucket, Line


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


@admin.register(Bucket)
class BucketAdmin(admin.ModelAdmin[Bucket]):
    list_display = ("line", "plan", "is_addon", "data_total", "data_used", "starts_at", "expires_at")
    list_filter = ("is_addon", "plan")
    search_fields = ("line__msisdn", "line__iccid")
    raw_id_fields = ("line",)
    list_select_related = ("line", "plan")
    date_hierarchy = "expires_at"
