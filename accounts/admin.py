from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import Line, SmsCode, User


class LineInline(admin.TabularInline[Line, User]):
    model = Line
    fields = ("msisdn", "iccid", "status", "nickname", "added_at")
    readonly_fields = ("msisdn", "iccid", "status", "nickname", "added_at")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["phone", "email", "username", "phone_verified_at", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "language"]
    search_fields = ["phone", "email", "username"]
    readonly_fields = ["date_joined", "last_login", "phone_verified_at"]
    inlines = [LineInline]
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Customer"), {"fields": ("email", "language", "time_zone", "phone_verified_at")}),
        (_("Staff"), {"fields": ("username", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone", "username", "password1", "password2")}),)


@admin.register(Line)
class LineAdmin(admin.ModelAdmin[Line]):
    list_display = ["msisdn", "iccid", "status", "owner", "nickname", "added_at"]
    list_filter = ["status"]
    search_fields = ["msisdn", "iccid", "eid", "owner__phone", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created_at", "added_at"]


@admin.register(SmsCode)
class SmsCodeAdmin(admin.ModelAdmin[SmsCode]):
    list_display = ["phone", "purpose", "created_at", "expires_at", "attempts", "used_at"]
    list_filter = ["purpose"]
    search_fields = ["phone"]
    readonly_fields = ["phone", "purpose", "user", "code_hash", "created_at", "expires_at", "attempts", "used_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
