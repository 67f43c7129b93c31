"""The audit trail: who on the staff changed what, when, from which value to which.

Entries are django-auditlog's ``LogEntry`` rows (its admin is the global list). They are written
here on purpose, not by auditlog's save signals: a customer's purchase or the usage feed saving
a line is not a staff change, and signals on every save would put a write beside each of them.

- ``AuditedAdmin`` (a ``ModelAdmin`` mixin) records every add, change and delete made in the
  admin, its inlines' rows included, with the old and new value of each field;
- ``audit_action`` records an action a service runs for a staff member (a refund, goodwill, an
  unlock, an authenticator reset), with its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditlog.diff import get_field_value  # type: ignore[import-untyped]
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.utils.encoding import smart_str

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.forms import BaseFormSet, ModelForm

# The names of the actions ``audit_action`` records, kept in the entry's additional_data.
ACTION_KEY = "action"
REASON_KEY = "reason"


def _actor(request_or_user: HttpRequest | AbstractBaseUser | None) -> Any:
    user = getattr(request_or_user, "user", request_or_user)
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _address(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


# Fields whose values never go into the trail (a password hash, a code's hash, an authenticator's
# key): that one changed is recorded, not what it holds.
SECRET_FIELDS = frozenset({"password", "code_hash", "key", "token", "bin_key", "client_secret"})
HIDDEN = "***"


def _text(value: Any) -> str | None:
    """A value as the trail stores it (JSON): text, dates in UTC, or None."""
    return None if value is None else smart_str(value)


def instance_diff(old: models.Model | None, new: models.Model | None) -> dict[str, tuple[Any, Any]] | None:
    """Each concrete field whose value differs between ``old`` and ``new``, as (old, new) strings.

    auditlog's ``model_instance_diff`` does the same only for models registered with its save
    signals (a KeyError otherwise), and none are: entries are written here, not by signals."""
    instance = new if new is not None else old
    if instance is None:
        return None
    diff: dict[str, tuple[Any, Any]] = {}
    for field in instance._meta.concrete_fields:
        before = _text(get_field_value(old, field)) if old is not None else None
        after = _text(get_field_value(new, field)) if new is not None else None
        if before != after:
            diff[field.name] = (HIDDEN, HIDDEN) if field.name in SECRET_FIELDS else (before, after)
    return diff or None


def audit_change(
    *,
    actor: Any,
    old: models.Model | None,
    new: models.Model | None,
    remote_addr: str | None = None,
) -> LogEntry | None:
    """Record the difference between ``old`` and ``new`` (either may be None: an add or a delete).
    Nothing is written when no field changed."""
    changes = instance_diff(old, new)
    if not changes:
        return None
    if old is None:
        action = LogEntry.Action.CREATE
    elif new is None:
        action = LogEntry.Action.DELETE
    else:
        action = LogEntry.Action.UPDATE
    instance = new if new is not None else old
    return LogEntry.objects.log_create(instance, action=action, changes=changes, actor=actor, remote_addr=remote_addr)


def audit_action(
    *,
    actor: Any,
    obj: models.Model,
    action: str,
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    **details: Any,
) -> LogEntry:
    """Record that ``actor`` ran ``action`` ("refund", "goodwill", "unlock", ...) on ``obj``.

    ``changes`` maps a field (or a name of what changed) to its old and new value; ``reason`` and
    any ``details`` (JSON-serialisable) are kept beside them."""
    entry = LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={name: [str(old), str(new)] for name, (old, new) in (changes or {}).items()},
        actor=_actor(actor),
        remote_addr=_address(request),
        additional_data={ACTION_KEY: action, REASON_KEY: reason, **details},
    )
    assert entry is not None  # force_log always writes
    return entry


def _members(obj: models.Model, field: str) -> str:
    return ", ".join(sorted(str(member) for member in getattr(obj, field).all()))


class AuditHistoryAdmin(admin.ModelAdmin[Any]):
    """A ModelAdmin whose History page lists the object's audit-trail entries: who, when, which
    action, each field's old and new value, and the reason. Read-only admins use it alone."""

    object_history_template = "admin/audit/object_history.html"
    audit_history_limit = 200

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None) -> Any:
        from boomcard.audit_display import entry_view

        obj = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if obj is not None and self.has_view_or_change_permission(request, obj):
            entries = LogEntry.objects.get_for_object(obj).select_related("actor", "content_type")
            entries = entries.order_by("-timestamp", "-pk")[: self.audit_history_limit]
            context["audit_entries"] = [entry_view(entry) for entry in entries]
            context["audit_content_type"] = ContentType.objects.get_for_model(type(obj)).pk
        return super().history_view(request, object_id, context)


class AuditedAdmin(AuditHistoryAdmin):
    """A ModelAdmin whose adds, changes and deletes, and its inlines', go to the audit trail."""

    def _before(self, obj: models.Model) -> models.Model | None:
        if obj.pk is None:
            return None
        return type(obj)._base_manager.filter(pk=obj.pk).first()

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        old = self._before(obj) if change else None
        super().save_model(request, obj, form, change)
        audit_change(actor=_actor(request), old=old, new=obj, remote_addr=_address(request))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        audit_change(actor=_actor(request), old=obj, new=None, remote_addr=_address(request))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            audit_change(actor=_actor(request), old=obj, new=None, remote_addr=_address(request))
        super().delete_queryset(request, queryset)

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        """Many-to-many fields (a staff member's groups and permissions) as well: their old and
        new members, by name."""
        obj = form.instance
        fields = [f for f in obj._meta.many_to_many if f.name in form.cleaned_data] if obj.pk is not None else []
        before = {f.name: _members(obj, f.name) for f in fields} if change else {}
        super().save_related(request, form, formsets, change)
        changes = {}
        for f in fields:
            old, new = before.get(f.name, ""), _members(obj, f.name)
            if old != new:
                changes[f.name] = [old or None, new or None]
        if changes:
            LogEntry.objects.log_create(
                obj,
                action=LogEntry.Action.UPDATE,
                changes=changes,
                actor=_actor(request),
                remote_addr=_address(request),
            )

    def save_formset(self, request: HttpRequest, form: ModelForm[Any], formset: BaseFormSet[Any], change: bool) -> None:
        actor, address = _actor(request), _address(request)
        # Rows about to be deleted are recorded as they are now; the others' old values are read first.
        for deleted in getattr(formset, "deleted_forms", []):
            if deleted.instance.pk is not None:
                audit_change(actor=actor, old=deleted.instance, new=None, remote_addr=address)
        before = {
            f.instance.pk: self._before(f.instance)
            for f in getattr(formset, "forms", [])
            if f.instance.pk is not None and f.has_changed()
        }
        super().save_formset(request, form, formset, change)
        for obj in getattr(formset, "new_objects", []):
            audit_change(actor=actor, old=None, new=obj, remote_addr=address)
        for obj, _fields in getattr(formset, "changed_objects", []):
            audit_change(actor=actor, old=before.get(obj.pk), new=obj, remote_addr=address)
