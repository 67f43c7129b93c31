from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin.search import PhoneSearchAdmin
from boomcard.audit import AuditedAdmin
from boomcard.formats import data_amount, minutes, phone_number, sms_count
from plans.admin.goodwill import goodwill_view
from plans.admin.line_import import line_import_view
from plans.models import Bucket, Line


@admin.register(Line)
class LineAdmin(AuditedAdmin, PhoneSearchAdmin, admin.ModelAdmin[Line]):
    """Lines: imported from a CSV file (the "Import lines" page), given goodwill from their page.
    A line's number and ICCID are fixed once a customer holds it; its plan and expiry are kept by
    the services (purchases, goodwill), never typed."""

    list_display = ["msisdn", "iccid", "status", "owner", "plan", "expires_at", "nickname", "added_at"]
    list_filter = ["status"]
    search_fields = ["msisdn", "iccid", "eid", "owner__phone", "owner__email"]
    phone_search_fields = ["msisdn", "owner__phone"]
    list_select_related = ["owner", "plan"]
    raw_id_fields = ["owner"]
    readonly_fields = ["plan", "expires_at", "created_at", "added_at"]
    change_form_template = "admin/plans/line/change_form.html"
    change_list_template = "admin/plans/line/change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Line | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.owner_id is not None:
            fields = ["msisdn", "iccid", *fields]
        return fields

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Any) -> Any:
            return self.admin_site.admin_view(view)

        return [
            path("import/", wrap(lambda request: line_import_view(self, request)), name="plans_line_import"),
            path(
                "<path:object_id>/goodwill/",
                wrap(lambda request, object_id: goodwill_view(self, request, object_id)),
                name="plans_line_goodwill",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if self.has_add_permission(request) and self.has_change_permission(request):
            extra_context = {**(extra_context or {}), "import_url": reverse("admin:plans_line_import")}
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        line = self.get_object(request, object_id)
        if line is not None and line.owner_id is not None and self.has_change_permission(request, line):
            goodwill_url = reverse("admin:plans_line_goodwill", args=[line.pk])
            extra_context = {**(extra_context or {}), "goodwill_url": goodwill_url}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Bucket)
class BucketAdmin(AuditedAdmin, PhoneSearchAdmin, admin.ModelAdmin[Bucket]):
    """Buckets, named by their line's number, their allowance in GB, minutes and SMS. None is added
    or edited by hand: a bucket comes from a purchase or from goodwill (the line's page) and is
    taken back by a refund, services that keep the line's expiry and plan in step with it."""

    list_display = ("line_number", "plan", "data", "voice", "sms", "starts_at", "expires_at")
    list_filter = ("is_addon", "plan")
    search_fields = ("line__msisdn", "line__iccid")
    phone_search_fields = ["line__msisdn"]
    raw_id_fields = ("line",)
    list_select_related = ("line", "plan")
    date_hierarchy = "expires_at"
    readonly_fields = ("line_number", "data", "voice", "sms")
    fieldsets = (
        (None, {"fields": ("line", "line_number", "plan", "is_addon", "countries", "starts_at", "expires_at")}),
        (_("Allowance used"), {"fields": ("data", "voice", "sms")}),
        (
            _("Stored amounts (bytes, seconds, SMS)"),
            {
                "classes": ("collapse",),
                "fields": ("data_total", "data_used", "voice_total", "voice_used", "sms_total", "sms_used"),
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Bucket | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Bucket | None = None) -> bool:
        return False

    @admin.display(description=_("number"), ordering="line__msisdn")
    def line_number(self, bucket: Bucket) -> str:
        return phone_number(bucket.line.msisdn) if bucket.line_id else "-"

    @admin.display(description=_("data (used of total)"))
    def data(self, bucket: Bucket) -> str:
        return _used_of(data_amount(bucket.data_used), data_amount(bucket.data_total))

    @admin.display(description=_("minutes (used of total)"))
    def voice(self, bucket: Bucket) -> str:
        return _used_of(minutes(bucket.voice_used), minutes(bucket.voice_total))

    @admin.display(description=_("SMS (used of total)"))
    def sms(self, bucket: Bucket) -> str:
        return _used_of(str(bucket.sms_used), sms_count(bucket.sms_total))


def _used_of(used: str, total: str) -> str:
    return str(_("%(used)s of %(total)s") % {"used": used, "total": total})
