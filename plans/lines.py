"""Every write on lines: a customer adding a line (proved by a code sent to it), its nickname,
and staff importing unowned lines from a CSV file. Each function is one transaction."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from accounts.line_hooks import LineChoice
from accounts.models import SmsCode, User
from accounts.services import sms_code_check, sms_code_send
from boomcard.rows import Selected, table
from plans.models import Line

# --- Adding a line ------------------------------------------------------------------------


def _claimable_line(*, user: User, msisdn: PhoneNumber) -> Line:
    line = Line.objects.filter(msisdn=msisdn).first()
    if line is not None and line.owner_id == user.pk:
        raise ValidationError(_("This line is already on your account."), code="already_yours")
    if line is None or line.status != Line.Status.AVAILABLE:
        # One answer for "not ours" and "someone else's": a number's owner is nobody else's business.
        raise ValidationError(_("This number is not a Boom line that can be added."), code="not_claimable")
    return line


def line_claim_start(*, user: User, msisdn: PhoneNumber, client_address: str = "") -> None:
    """Send a code to the line's own number, to prove the customer holds it."""
    _claimable_line(user=user, msisdn=msisdn)
    sms_code_send(
        phone=msisdn,
        purpose=SmsCode.Purpose.ADD_LINE,
        user=user,
        language=user.language,
        client_address=client_address,
    )


def line_claim_confirm(*, user: User, msisdn: PhoneNumber, code: str, nickname: str = "") -> Line:
    """Give the line to ``user`` once the code sent to it is right. Safe against a race: the line
    row is locked and must still be unowned."""
    _claimable_line(user=user, msisdn=msisdn)
    sms_code = sms_code_check(phone=msisdn, purpose=SmsCode.Purpose.ADD_LINE, code=code)
    if sms_code.user_id != user.pk:
        raise ValidationError(_("There is no code waiting for this number. Ask for a new one."), code="no_code")
    with transaction.atomic():
        line = Line.objects.select_for_update().get(msisdn=msisdn)
        if line.owner_id is not None:
            raise ValidationError(_("This number is not a Boom line that can be added."), code="not_claimable")
        line.owner = user
        line.status = Line.Status.ACTIVE
        line.nickname = nickname
        line.added_at = timezone.now()
        line.save(update_fields=["owner", "status", "nickname", "added_at"])
    return line


def line_rename(*, line: Line, nickname: str) -> Line:
    line.nickname = nickname
    line.save(update_fields=["nickname"])
    return line


# --- Importing lines ------------------------------------------------------------------------

LINE_IMPORT_COLUMNS = ("msisdn", "iccid", "eid", "smdp_address", "matching_id")


@dataclass
class LineImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def summary(self) -> str:
        """One line, in the active language: ``2 created, 0 updated, 1 unchanged, 1 rejected``."""
        return _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(rejected)d rejected") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def lines_import_csv(*, rows: Iterable[Mapping[str, str | None]], dry_run: bool = False) -> LineImportReport:
    """Import unowned lines from CSV rows (header: msisdn, iccid, eid, smdp_address, matching_id).

    Each good row is saved on its own, so bad rows (reported with their row number in the file,
    the header being row 1) leave the good ones in place. A row identical to a stored line
    changes nothing, so importing the same file twice gives the same result; a row that changes
    a line already in a customer's hands is refused. With ``dry_run`` every row is checked and
    saved exactly as it would be, then all is rolled back: the report is what a real run would
    give. Messages are in the active language (the command and the admin activate the
    operator's). A file the csv module cannot read is a ValidationError, nothing imported.
    """
    report = LineImportReport(dry_run=dry_run)
    try:
        with transaction.atomic():
            _import_rows(rows, report)
            if dry_run:
                transaction.set_rollback(True)
    except csv.Error as exc:
        raise ValidationError(
            _("This file is not CSV text we can read (%(error)s).") % {"error": exc}, code="bad_csv"
        ) from exc
    return report


def _import_rows(rows: Iterable[Mapping[str, str | None]], report: LineImportReport) -> None:
    from plans.line_forms import LineImportForm

    seen: dict[str, int] = {}
    for row_number, row in enumerate(rows, start=2):
        data = {column: (row.get(column) or "").strip() for column in LINE_IMPORT_COLUMNS}
        iccid = data["iccid"]
        if iccid and iccid in seen:
            report.errors.append((row_number, _("ICCID repeats row %(row)d.") % {"row": seen[iccid]}))
            continue
        seen[iccid] = row_number
        existing = Line.objects.filter(iccid=iccid).first() if iccid else None
        form = LineImportForm(data, instance=existing)
        if not form.is_valid():
            report.errors.append((row_number, _flatten_errors(form.errors)))
            continue
        if existing is not None and not form.has_changed():
            report.unchanged += 1
            continue
        if existing is not None and existing.owner_id is not None:
            report.errors.append((row_number, _("This line belongs to a customer; change it in the admin.")))
            continue
        try:
            with transaction.atomic():
                form.save()
        except IntegrityError:
            report.errors.append((row_number, _("Conflicts with a line already stored.")))
            continue
        if existing is None:
            report.created += 1
        else:
            report.updated += 1


def _flatten_errors(errors: Mapping[str, Any]) -> str:
    parts = []
    for name, messages in errors.items():
        label = name if name != "__all__" else ""
        parts.append(f"{label}: {' '.join(messages)}" if label else " ".join(messages))
    return "; ".join(parts)


def read_line_csv(handle: Iterable[str]) -> csv.DictReader[str]:
    """A reader over the CSV text in ``handle``; ValidationError when its header lacks a needed column."""
    reader = csv.DictReader(handle)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ValidationError(
            _("This file is not CSV text we can read (%(error)s).") % {"error": exc}, code="bad_csv"
        ) from exc
    missing = [c for c in ("msisdn", "iccid", "smdp_address", "matching_id") if c not in header]
    if missing:
        raise ValidationError(
            _("The CSV header lacks: %(columns)s.") % {"columns": ", ".join(missing)}, code="bad_header"
        )
    return reader


# --- What accounts asks about lines (accounts.line_hooks; registered in PlansConfig.ready) ----


_choice = Selected(Line, "l", only=("msisdn", "nickname"))


def line_choices(user_id: int) -> list[LineChoice]:
    """The customer's lines, as the support form offers them, in the lines' order: one
    hand-written query (``boomcard.rows``), as the help page reads it on every first view after
    a change."""
    query = f"SELECT {_choice.columns} FROM {table(Line)} l WHERE l.owner_id = %s ORDER BY l.added_at, l.id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [user_id])
        lines = [_choice.instance(row) for row in cursor.fetchall()]
    return [LineChoice(pk=line.pk, msisdn=str(line.msisdn), label=str(line)) for line in lines]


def line_reminder_due(line_ref: int, expires_at: str) -> bool:
    """Whether a renewal reminder written for the expiry ``expires_at`` (ISO 8601) is still
    due: not once the line is renewed (its expiry moved) or deleted."""
    expiry = Line.objects.filter(pk=line_ref).values_list("expires_at", flat=True).first()
    return expiry is not None and expiry.isoformat() == expires_at
