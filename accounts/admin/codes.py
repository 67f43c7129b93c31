from django.contrib import admin
from django.http import HttpRequest

from accounts.models import EnrolmentCode, SmsCode
from boomcard.audit import AuditedAdmin


@admin.register(SmsCode)
class SmsCodeAdmin(AuditedAdmin):
    list_display = ["phone", "purpose", "created_at", "expires_at", "attempts", "used_at"]
    list_filter = ["purpose"]
    search_fields = ["phone"]
    readonly_fields = ["phone", "purpose", "user", "code_hash", "created_at", "expires_at", "attempts", "used_at"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(EnrolmentCode)
class EnrolmentCodeAdmin(AuditedAdmin):
    """Who made which code for whom, and whether it was used: the codes themselves are shown
    once, when they are made (the *Make an enrolment code* action on customers)."""

    list_display = ["user", "created_by", "created_at", "expires_at", "used_at"]
    list_select_related = ["user", "created_by"]
    search_fields = ["user__username", "user__phone"]
    fields = ["user", "created_by", "created_at", "expires_at", "used_at"]
    readonly_fields = ["user", "created_by", "created_at", "expires_at", "used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EnrolmentCode | None = None) -> bool:
        return False
