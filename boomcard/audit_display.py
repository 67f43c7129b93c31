"""How the audit trail reads to staff: an entry's action in words, and its changes as
(field, old, new) rows with the field's own label. The global list (accounts.admin.audit) and
each object's History page (boomcard.audit.AuditHistoryAdmin) both show entries this way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from boomcard.audit import ACTION_KEY, HIDDEN, REASON_KEY, SECRET_FIELDS

# The actions services record through ``audit_action``, by the name they pass. A name not listed
# here is shown as it was recorded, its underscores as spaces.
NAMED_ACTIONS: dict[str, Any] = {
    "refund": pgettext_lazy("audit action", "refund"),
    "goodwill": pgettext_lazy("audit action", "goodwill"),
    "unlock": pgettext_lazy("audit action", "unlock"),
    "reset_authenticator": pgettext_lazy("audit action", "authenticator reset"),
    "authenticator_reset": pgettext_lazy("audit action", "authenticator reset"),
    "resend": pgettext_lazy("audit action", "resend"),
    "remove_card": pgettext_lazy("audit action", "card removed"),
    "reply": pgettext_lazy("audit action", "reply"),
    "assign": pgettext_lazy("audit action", "assigned"),
    "import_lines": pgettext_lazy("audit action", "line import"),
    "enrolment_code": pgettext_lazy("audit action", "enrolment code made"),
    "support_triage": pgettext_lazy("audit action", "support request triaged"),
    "support_note": pgettext_lazy("audit action", "internal note"),
    "support_reply": pgettext_lazy("audit action", "reply to the customer"),
    "orders_export": pgettext_lazy("audit action", "orders exported"),
}

# auditlog's own actions, for entries that are a plain add, change or delete.
PLAIN_ACTIONS: dict[int, Any] = {
    LogEntry.Action.CREATE: pgettext_lazy("audit action", "added"),
    LogEntry.Action.UPDATE: pgettext_lazy("audit action", "changed"),
    LogEntry.Action.DELETE: pgettext_lazy("audit action", "deleted"),
    LogEntry.Action.ACCESS: pgettext_lazy("audit action", "viewed"),
}


def named_action(entry: LogEntry) -> str:
    """The name ``audit_action`` recorded, or "" for a plain add, change or delete."""
    data = entry.additional_data
    return str(data.get(ACTION_KEY) or "") if isinstance(data, dict) else ""


def action_label(name: str) -> str:
    if name in NAMED_ACTIONS:
        return str(NAMED_ACTIONS[name])
    return name.replace("_", " ")


def entry_action(entry: LogEntry) -> str:
    """What the entry records, in words: "refund", "goodwill"... or "changed", "added"."""
    name = named_action(entry)
    return action_label(name) if name else str(PLAIN_ACTIONS.get(entry.action, entry.get_action_display()))


def entry_reason(entry: LogEntry) -> str:
    data = entry.additional_data
    return str(data.get(REASON_KEY) or "") if isinstance(data, dict) else ""


def entry_details(entry: LogEntry) -> list[tuple[str, str]]:
    """What ``audit_action`` kept beside the action and reason (an amount, a refund id...)."""
    data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    return [(key.replace("_", " "), str(value)) for key, value in data.items() if key not in (ACTION_KEY, REASON_KEY)]


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


def field_label(entry: LogEntry, name: str) -> str:
    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is not None:
        try:
            return str(capfirst(model._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            pass
    return str(capfirst(name.replace("_", " ")))


def _value(value: Any, field: Any = None) -> str:
    if value is None or value == "None" or str(value) == "":
        return "—"
    if isinstance(field, models.DateTimeField):
        # Stored in UTC without a zone (auditlog's way): shown in the admin's time zone.
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return str(formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT"))
    return str(value)


def _field(entry: LogEntry, name: str) -> Any:
    model = entry.content_type.model_class() if entry.content_type_id else None
    try:
        return model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        return None


def entry_changes(entry: LogEntry) -> list[Change]:
    """Each field the entry changed, with its label and its value before and after."""
    rows = []
    for name, change in sorted((entry.changes_dict or {}).items()):
        if isinstance(change, dict):  # a many-to-many change: what was added or removed
            old, new = str(change.get("operation", "")), ", ".join(map(str, change.get("objects", [])))
        else:
            old, new = [*list(change), None, None][:2]
        if name in SECRET_FIELDS:
            old, new = HIDDEN, HIDDEN
        field = _field(entry, name)
        rows.append(Change(field=field_label(entry, name), old=_value(old, field), new=_value(new, field)))
    return rows


def changes_html(changes: list[Change]) -> SafeString:
    """The changes as a list: "<field>: <old> → <new>" a line."""
    if not changes:
        return SafeString("")
    items = format_html_join(
        "",
        '<li><span class="audit-field">{}</span>: <span class="audit-old">{}</span>'
        ' → <span class="audit-new">{}</span></li>',
        ((change.field, change.old, change.new) for change in changes),
    )
    return format_html('<ul class="audit-changes">{}</ul>', items)


@dataclass(frozen=True)
class EntryView:
    """One entry as the History page lists it."""

    entry: LogEntry
    action: str
    changes: list[Change]
    reason: str
    details: list[tuple[str, str]]

    @property
    def changes_html(self) -> SafeString:
        return changes_html(self.changes)


def entry_view(entry: LogEntry) -> EntryView:
    return EntryView(
        entry=entry,
        action=entry_action(entry),
        changes=entry_changes(entry),
        reason=entry_reason(entry),
        details=entry_details(entry),
    )


SYSTEM = _("system")
