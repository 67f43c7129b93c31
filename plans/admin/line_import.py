"""Importing lines from a CSV file in the admin: upload, see what a run would do (a dry run of
``plans.lines.lines_import_csv``, the service ``manage.py import_lines`` calls), then confirm.

The file's text travels from the preview to the confirmation signed, so what is imported is what
was previewed; the confirmation runs every check again and reports what really happened. The
report is in the staff member's own language, which the request has active.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from plans.lines import LINE_IMPORT_COLUMNS, LineImportReport, lines_import_csv, read_line_csv

if TYPE_CHECKING:
    from plans.admin.lines import LineAdmin

MAX_FILE_BYTES = 1024 * 1024
SIGNING_SALT = "plans.admin.line_import"


class LineImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, with the header msisdn, iccid, eid, smdp_address, matching_id (eid may be empty)."
        ),
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(_("The file is over 1 MB: split it into smaller files."), code="too_big")
        try:
            return str(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ValidationError(_("This file is not UTF-8 text."), code="not_utf8") from exc


class LineImportConfirmForm(forms.Form):
    text = forms.CharField(widget=forms.HiddenInput)

    def clean_text(self) -> str:
        try:
            return str(signing.loads(self.cleaned_data["text"], salt=SIGNING_SALT, max_age=60 * 60))
        except signing.BadSignature as exc:
            raise ValidationError(_("This preview has expired. Upload the file again."), code="stale") from exc


def _run(text: str, *, dry_run: bool) -> LineImportReport:
    return lines_import_csv(rows=read_line_csv(io.StringIO(text, newline="")), dry_run=dry_run)


def line_import_view(model_admin: LineAdmin, request: HttpRequest) -> HttpResponse:
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied
    upload = LineImportUploadForm()
    report: LineImportReport | None = None
    signed = ""
    if request.method == "POST" and "confirm" in request.POST:
        confirm = LineImportConfirmForm(request.POST)
        try:
            if not confirm.is_valid():
                raise ValidationError([str(error) for error in confirm.errors.get("text", [])])
            report = _run(confirm.cleaned_data["text"], dry_run=False)
        except ValidationError as refusal:
            model_admin.message_user(request, " ".join(refusal.messages), messages.ERROR)
        else:
            level = messages.WARNING if report.errors else messages.SUCCESS
            done = _("Lines imported: %(summary)s") % {"summary": report.summary()}
            model_admin.message_user(request, done, level)
            if not report.errors:
                return HttpResponseRedirect(reverse("admin:plans_line_changelist"))
    elif request.method == "POST":
        upload = LineImportUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            try:
                report = _run(upload.cleaned_data["file"], dry_run=True)
            except ValidationError as refusal:
                upload.add_error("file", refusal)
            else:
                signed = signing.dumps(upload.cleaned_data["file"], salt=SIGNING_SALT, compress=True)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": _("Import lines"),
        "opts": model_admin.opts,
        "form": upload,
        "columns": LINE_IMPORT_COLUMNS,
        "report": report,
        "signed": signed,
        "can_confirm": bool(signed and report and (report.created or report.updated)),
    }
    return TemplateResponse(request, "admin/plans/line/import.html", context)
