"""The support queue: requests from customers and from people logged out, new ones and those
waiting longest first; on a request's page its whole thread, and a reply, an internal note, its
status and assignee, all saved through accounts.support_desk and written to the audit trail."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SupportRequest, User
from accounts.phones import parse_phone
from accounts.support_desk import (
    EMAIL,
    NOTICE,
    staff_name,
    support_form_saved,
    support_note_add,
    support_reply_send,
    support_request_triage,
)
from boomcard.audit import AuditedAdmin, audit_action

# "S000012", "s12", "#12" or "12": a request's reference (at most 9 digits, so the id fits).
REFERENCE_RE = re.compile(r"^\s*[sS#]?0*(\d{1,9})\s*$")

# New requests first, then those waiting on the customer, then the solved; in each, who has
# waited longest (since the thread last moved) first.
QUEUE_ORDER: list[str | OrderBy] = [
    Case(
        When(status=SupportRequest.Status.NEW, then=Value(0)),
        When(status=SupportRequest.Status.WAITING, then=Value(1)),
        default=Value(2),
    ).asc(),
    "last_message_at",
    "pk",
]


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"
    MINE = "mine"
    NOBODY = "none"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("username")
        return [
            (self.MINE, gettext("Assigned to me")),
            (self.NOBODY, gettext("Unassigned")),
            *((str(user.pk), staff_name(user)) for user in staff),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SupportRequest]) -> QuerySet[SupportRequest]:
        value = self.value()
        if value == self.MINE:
            return queryset.filter(assignee=request.user.pk)
        if value == self.NOBODY:
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee=int(value))
        return queryset


class SupportRequestForm(forms.ModelForm[SupportRequest]):
    """Status and assignee, and what staff write: a reply to the customer, an internal note."""

    reply = forms.CharField(
        label=_("Reply to the customer"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_(
            "Sent when you save: by email and as a notice in the site. A new request then waits on the customer."
        ),
    )
    note = forms.CharField(
        label=_("Internal note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=_("Only staff see it; the customer never does."),
    )
    # Made when the page is shown: the same page saved twice writes its note and sends its reply
    # once (a message is unique by token and kind).
    form_token = forms.UUIDField(label=_("form token"), required=False, widget=forms.HiddenInput)

    class Meta:
        model = SupportRequest
        fields = ["status", "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["form_token"] = uuid.uuid4()

    def clean_reply(self) -> str:
        return str(self.cleaned_data.get("reply") or "").strip()

    def clean_note(self) -> str:
        return str(self.cleaned_data.get("note") or "").strip()


@admin.register(SupportRequest)
class SupportRequestAdmin(AuditedAdmin):
    form = SupportRequestForm
    list_display = ["reference", "status", "requester_short", "topic", "assignee", "last_message_at", "written_at"]
    list_display_links = ["reference"]
    list_filter = ["status", AssigneeFilter, "topic"]
    list_select_related = ["user", "assignee"]
    search_fields = ["contact_email", "user__email", "message"]
    readonly_fields = ["reference", "requester", "topic", "line_number", "written_at", "thread"]
    fieldsets = (
        (None, {"fields": ("reference", "requester", "topic", "line_number", "written_at")}),
        (_("Thread"), {"fields": ("thread",)}),
        (_("Answer"), {"fields": ("reply", "note", "status", "assignee", "form_token")}),
    )

    class Media:
        css = {"all": ["css/admin_support.css"]}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assignee":  # a plain choice of active staff, without add/change links
            staff = User.objects.filter(is_staff=True, is_active=True).order_by("username")
            return db_field.formfield(queryset=staff, **kwargs)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return QUEUE_ORDER

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers and people logged out write them, on the help page

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SupportRequest], search_term: str
    ) -> tuple[QuerySet[SupportRequest], bool]:
        """Also by the writer's number, however it is written (as the log-in reads it), and by
        reference."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        extra = Q()
        if (phone := parse_phone(search_term)) is not None:
            extra |= Q(user__phone=phone) | Q(contact_phone=phone) | Q(line_number=str(phone.as_e164))
        if (reference := REFERENCE_RE.match(search_term)) is not None:
            extra |= Q(pk=int(reference.group(1)))
        if extra:
            found = found | queryset.filter(extra)
        return found, may_have_duplicates

    @admin.display(description=_("reference"), ordering="pk")
    def reference(self, obj: SupportRequest) -> str:
        return obj.reference

    @admin.display(description=_("written"), ordering="created_at")
    def written_at(self, obj: SupportRequest) -> str:
        return formats.localize(timezone.localtime(obj.created_at))

    @admin.display(description=_("from"))
    def requester_short(self, obj: SupportRequest) -> str:
        if obj.user is not None:
            return str(obj.user.phone)
        return obj.contact_email or str(obj.contact_phone)

    @admin.display(description=_("from"))
    def requester(self, obj: SupportRequest) -> SafeString:
        if obj.user is not None:
            link = reverse("admin:accounts_user_change", args=[obj.user.pk])
            return format_html(
                '<a href="{}">{}</a> {} <span class="help">({})</span>',
                link,
                obj.user.phone,
                obj.user.email,
                gettext("a reply reaches them by email and in the site")
                if obj.user.email
                else gettext("no email on the account: a reply reaches them in the site only"),
            )
        if obj.contact_email:
            return format_html(
                '{} <span class="help">({})</span>',
                obj.contact_email,
                gettext("logged out: a reply reaches them by email only"),
            )
        return format_html(
            '{} <strong class="support-unreachable">{}</strong>',
            obj.contact_phone,
            gettext("Only a mobile number: a reply cannot reach them by email or in the site. Call or text them."),
        )

    @admin.display(description=_("thread"))
    def thread(self, obj: SupportRequest) -> str:
        messages_ = list(obj.messages.select_related("author", "email").order_by("created_at", "id"))
        return render_to_string("admin/accounts/support_thread.html", {"item": obj, "thread": messages_})

    def save_model(self, request: HttpRequest, obj: SupportRequest, form: forms.ModelForm[Any], change: bool) -> None:
        """Through the services, not ``obj.save()``: status and assignee, then the note and the
        reply (a reply to a new request makes it wait on the customer), each in the audit trail."""
        staff: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        token: uuid.UUID | None = data.get("form_token")
        if support_form_saved(token=token):  # the same page saved twice: its first save did it all
            self.message_user(request, gettext("This page was already saved; nothing was sent or changed again."))
            obj.refresh_from_db()
            return
        changes = support_request_triage(support_request_id=obj.pk, status=obj.status, assignee=obj.assignee)
        if changes:
            audit_action(actor=staff, obj=obj, action="support_triage", changes=changes, request=request)
        if data.get("note"):
            note, new = support_note_add(support_request_id=obj.pk, staff=staff, body=data["note"], token=token)
            if new:
                audit_action(actor=staff, obj=obj, action="support_note", request=request, message=note.pk)
        if data.get("reply"):
            sent = support_reply_send(support_request_id=obj.pk, staff=staff, body=data["reply"], token=token)
            if sent.sent:
                audit_action(
                    actor=staff,
                    obj=obj,
                    action="support_reply",
                    request=request,
                    message=sent.message.pk,
                    reached_by=list(sent.reached_by),
                )
                self._tell_reach(request, obj, sent.reached_by)
            else:
                self.message_user(request, gettext("This reply was already sent; it was not sent again."))
        obj.refresh_from_db()

    def _tell_reach(self, request: HttpRequest, obj: SupportRequest, reached_by: tuple[str, ...]) -> None:
        if EMAIL in reached_by and NOTICE in reached_by:
            self.message_user(request, gettext("Reply sent by email and as a notice in the site."), messages.SUCCESS)
        elif NOTICE in reached_by:
            self.message_user(
                request, gettext("Reply sent as a notice in the site (the account has no email)."), messages.WARNING
            )
        elif EMAIL in reached_by:
            self.message_user(request, gettext("Reply sent by email."), messages.SUCCESS)
        else:
            self.message_user(
                request,
                gettext(
                    "The reply is kept, but nothing was sent: they left only a mobile number (%(phone)s). "
                    "Call or text them."
                )
                % {"phone": obj.contact_phone},
                messages.WARNING,
            )
