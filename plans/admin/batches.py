"""The usage feed's batches, to look at: what the network posted, what was rejected on arrival,
and what applying it found. Written only by the feed (plans.usage), so nothing here changes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from boomcard.audit import AuditHistoryAdmin
from plans.models import UsageBatch


def _json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=1))


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in UsageBatch.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(UsageBatch)
class UsageBatchAdmin(AuditHistoryAdmin, admin.ModelAdmin[UsageBatch]):
    # The model's fields have no labels of their own: these say them in the staff's language.
    list_display = ("batch", "received", "records_count", "state", "applied")
    list_filter = (StatusFilter,)
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = ("received", "records_count", "state", "applied", "rejected", "applying_report", "records_posted")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UsageBatch | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: UsageBatch | None = None) -> bool:
        return False

    @admin.display(description=_("usage batch"), ordering="id")
    def batch(self, batch: UsageBatch) -> str:
        return f"#{batch.pk}"

    @admin.display(description=_("arrived"), ordering="received_at")
    def received(self, batch: UsageBatch) -> datetime:
        return batch.received_at

    @admin.display(description=_("records in it"), ordering="record_count")
    def records_count(self, batch: UsageBatch) -> int:
        return batch.record_count

    @admin.display(description=_("status"), ordering="status")
    def state(self, batch: UsageBatch) -> str:
        return batch.get_status_display()

    @admin.display(description=_("applied"), ordering="applied_at")
    def applied(self, batch: UsageBatch) -> datetime | None:
        return batch.applied_at

    @admin.display(description=_("rejected on arrival"))
    def rejected(self, batch: UsageBatch) -> SafeString:
        return _json(batch.errors)

    @admin.display(description=_("what applying found"))
    def applying_report(self, batch: UsageBatch) -> SafeString:
        return _json(batch.report)

    @admin.display(description=_("records as posted"))
    def records_posted(self, batch: UsageBatch) -> SafeString:
        return _json(batch.records)
