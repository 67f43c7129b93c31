"""The goodwill page of a line in the admin: a button on the line's page opens a small form (days
or a data pack, a reason and a note); posting it calls ``plans.goodwill.line_goodwill_give``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from boomcard.formats import date_time, phone_number
from plans.goodwill import GOODWILL_MAX_DAYS, GoodwillReason, goodwill_line_check, goodwill_packs, line_goodwill_give
from plans.models import Plan

if TYPE_CHECKING:
    from plans.admin.lines import LineAdmin


class GoodwillForm(forms.Form):
    DAYS, PACK = "days", "pack"

    kind = forms.ChoiceField(
        label=gettext_lazy("What to give"),
        choices=[(DAYS, gettext_lazy("More days on the line")), (PACK, gettext_lazy("A data pack"))],
        widget=forms.RadioSelect,
        initial=DAYS,
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days to add"),
        min_value=1,
        max_value=GOODWILL_MAX_DAYS,
        required=False,
        initial=7,
        help_text=gettext_lazy("1 to 90. The line's expiry and its current plan's allowance move together."),
    )
    pack = forms.ModelChoiceField(
        label=gettext_lazy("Data pack to give"),
        queryset=Plan.objects.none(),
        required=False,
        help_text=gettext_lazy("An add-on pack from the catalogue; the expiry does not change."),
    )
    # One token per form shown: the same form sent twice (a double click) gives once.
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    reason = forms.ChoiceField(label=gettext_lazy("Reason for goodwill"), choices=GoodwillReason.choices)
    note = forms.CharField(
        label=gettext_lazy("Note (kept in the audit trail)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Why, in a few words. The customer does not see it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pack"].queryset = goodwill_packs()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == self.DAYS and data.get("days") is None and "days" not in self.errors:
            self.add_error("days", _("Say how many days to give."))
        if data.get("kind") == self.PACK and data.get("pack") is None and "pack" not in self.errors:
            self.add_error("pack", _("Choose the data pack to give."))
        return data


def goodwill_view(model_admin: LineAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    line = model_admin.get_object(request, unquote(object_id))
    if line is None:
        raise Http404(_("There is no such line."))
    if not model_admin.has_change_permission(request, line):
        raise PermissionDenied
    change_url = reverse("admin:plans_line_change", args=[line.pk])
    try:
        goodwill_line_check(line=line)
    except ValidationError as refusal:
        model_admin.message_user(request, " ".join(refusal.messages), messages.ERROR)
        return HttpResponseRedirect(change_url)
    form = GoodwillForm(request.POST if request.method == "POST" else None, initial={"attempt": uuid.uuid4().hex})
    if request.method == "POST" and form.is_valid():
        give_days = form.cleaned_data["kind"] == GoodwillForm.DAYS
        try:
            given = line_goodwill_give(
                line=line,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                days=form.cleaned_data["days"] if give_days else None,
                pack=None if give_days else form.cleaned_data["pack"],
                request=request,
                attempt=form.cleaned_data["attempt"],
            )
        except ValidationError as refusal:
            if refusal.code == "already_given":
                model_admin.message_user(request, " ".join(refusal.messages), messages.WARNING)
                return HttpResponseRedirect(change_url)
            form.add_error(None, refusal)
        else:
            number = phone_number(line.msisdn)
            if give_days:
                text = ngettext(
                    "Gave %(days)d day to %(number)s: it now runs until %(when)s.",
                    "Gave %(days)d days to %(number)s: it now runs until %(when)s.",
                    form.cleaned_data["days"],
                ) % {
                    "days": form.cleaned_data["days"],
                    "number": number,
                    "when": date_time(given.new_expiry),
                }
            else:
                text = _("Gave %(pack)s to %(number)s, usable until %(when)s.") % {
                    "pack": form.cleaned_data["pack"].name,
                    "number": number,
                    "when": date_time(given.bucket.expires_at),
                }
            model_admin.message_user(request, text, messages.SUCCESS)
            return HttpResponseRedirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Goodwill for %(number)s") % {"number": phone_number(line.msisdn)},
        "opts": model_admin.opts,
        "original": line,
        "form": form,
        "expires": date_time(line.expires_at) if line.expires_at else "",
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/plans/line/goodwill.html", context)
