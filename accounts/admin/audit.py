"""The audit trail's global list: every staff change and action (boomcard.audit writes them), with
who, when, which object, each field's old and new value, and the reason.

django-auditlog's own LogEntryAdmin is kept as the base (its read-only rules: no add, change or
delete) and replaced by this one, which filters by staff member, kind of object, action (our named
actions included) and date, and shows entries the way each object's History page does.
"""

from __future__ import annotations

from typing import Any

from auditlog.admin import LogEntryAdmin  # type: ignore[import-untyped]
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from boomcard.audit import ACTION_KEY
from boomcard.audit_display import (
    PLAIN_ACTIONS,
    SYSTEM,
    action_label,
    changes_html,
    entry_action,
    entry_changes,
    entry_details,
    entry_reason,
)

NO_ACTOR = "none"


class ActorFilter(admin.SimpleListFilter):
    """By staff member: those who have entries, and "system" for what no one did by hand."""

    title = _("staff member")
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        ids = LogEntry.objects.exclude(actor=None).values("actor_id").distinct()
        people = User.objects.filter(Q(pk__in=ids) | Q(is_staff=True)).order_by("username", "phone")
        return [(str(user.pk), str(user)) for user in people] + [(NO_ACTOR, SYSTEM)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == NO_ACTOR:
            return queryset.filter(actor=None)
        if value and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset


class ObjectKindFilter(admin.SimpleListFilter):
    """By kind of object (customer, line, order...), named in the staff member's language."""

    title = _("kind of object")
    parameter_name = "content_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        ids = LogEntry.objects.values("content_type_id").distinct()
        kinds = []
        for kind in ContentType.objects.filter(pk__in=ids):
            model = kind.model_class()
            name = capfirst(model._meta.verbose_name) if model is not None else kind.model
            kinds.append((str(kind.pk), str(name)))
        return sorted(kinds, key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(content_type_id=int(value)) if value and value.isdigit() else queryset


class ObjectFilter(admin.SimpleListFilter):
    """One object's entries (the History page links here); not listed in the side bar."""

    title = _("object")
    parameter_name = "object"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return []

    def has_output(self) -> bool:
        return False

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(object_pk=value) if value else queryset


class ActionFilter(admin.SimpleListFilter):
    """By action: added, changed, deleted, or a named one (refund, goodwill, unlock...)."""

    title = pgettext_lazy("audit", "action")
    parameter_name = "action"
    PLAIN = {"added": LogEntry.Action.CREATE, "changed": LogEntry.Action.UPDATE, "deleted": LogEntry.Action.DELETE}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        plain = [(key, PLAIN_ACTIONS[action]) for key, action in self.PLAIN.items()]
        names = (
            LogEntry.objects.filter(additional_data__has_key=ACTION_KEY)
            .values_list(f"additional_data__{ACTION_KEY}", flat=True)
            .distinct()
        )
        named = sorted({(str(name), action_label(str(name))) for name in names if name}, key=lambda item: item[1])
        return plain + named

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if value in self.PLAIN:
            # A named action is recorded as a change too: "changed" means a plain edit.
            plain = queryset.filter(action=self.PLAIN[value])
            return plain.exclude(additional_data__has_key=ACTION_KEY) if value == "changed" else plain
        return queryset.filter(**{f"additional_data__{ACTION_KEY}": value})


class DateFilter(admin.DateFieldListFilter):
    """By date: today, the past 7 days... (auditlog calls its field "timestamp")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = str(_("date"))


class AuditTrailAdmin(LogEntryAdmin):
    date_hierarchy = "timestamp"
    list_display = ["when", "who", "what", "action_name", "old_to_new", "reason"]
    list_display_links = ["when"]
    list_select_related = ["content_type", "actor"]
    list_filter = [ActorFilter, ObjectKindFilter, ActionFilter, ("timestamp", DateFilter), ObjectFilter]
    search_fields = ["object_repr", "actor__username", "actor__phone", "actor__email"]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["when", "who", "what", "action_name", "reason", "remote_addr"]}),
        (_("Old → new"), {"fields": ["old_to_new", "details"]}),
    ]
    readonly_fields = ["when", "who", "what", "action_name", "reason", "remote_addr", "old_to_new", "details"]

    @admin.display(description=_("when"), ordering="timestamp")
    def when(self, entry: LogEntry) -> str:
        return str(formats.date_format(timezone.localtime(entry.timestamp), "DATETIME_FORMAT"))

    @admin.display(description=_("staff member"), ordering="actor")
    def who(self, entry: LogEntry) -> SafeString | str:
        if entry.actor is None:
            return str(SYSTEM)
        try:
            url = reverse("admin:accounts_user_change", args=[entry.actor.pk])
        except NoReverseMatch:
            return str(entry.actor)
        return format_html('<a href="{}">{}</a>', url, entry.actor)

    @admin.display(description=_("object"))
    def what(self, entry: LogEntry) -> SafeString | str:
        model = entry.content_type.model_class()
        kind = capfirst(model._meta.verbose_name) if model is not None else entry.content_type.model
        label = f"{kind}: {entry.object_repr}"
        if model is None or entry.action == LogEntry.Action.DELETE:
            return label
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[entry.object_pk])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=pgettext_lazy("audit", "action"))
    def action_name(self, entry: LogEntry) -> str:
        return entry_action(entry)

    @admin.display(description=_("old → new"))
    def old_to_new(self, entry: LogEntry) -> SafeString:
        return changes_html(entry_changes(entry))

    @admin.display(description=_("reason"))
    def reason(self, entry: LogEntry) -> str | None:
        return entry_reason(entry) or None  # None: the admin's "-"

    @admin.display(description=_("details"))
    def details(self, entry: LogEntry) -> str | None:
        return "; ".join(f"{key}: {value}" for key, value in entry_details(entry)) or None


admin.site.unregister(LogEntry)
admin.site.register(LogEntry, AuditTrailAdmin)
