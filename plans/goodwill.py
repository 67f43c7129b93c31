"""Goodwill: staff giving a customer's line more days or a data pack, for a reason.

It goes through the services a purchase uses (``plans.services``): more days move the line's
expiry and its current base bucket together, as a renewal does; a pack is granted as a bought one
is. The customer gets a notice (and its email, through the outbox) and the audit trail records who
gave what, why, and the expiry before and after, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Notice
from accounts.notice_keys import goodwill_key
from accounts.outbox import notice_create
from boomcard.audit import audit_action
from plans.models import Bucket, Line, Plan
from plans.services import bucket_grant, line_validity_extend

GOODWILL_MAX_DAYS = 90
GOODWILL_ACTION = "goodwill"


class GoodwillReason(models.TextChoices):
    OUTAGE = "outage", gettext_lazy("Network problem")
    SERVICE = "service", gettext_lazy("Complaint about the service")
    BILLING = "billing", gettext_lazy("Billing mistake")
    LOYALTY = "loyalty", gettext_lazy("Loyal customer")
    OTHER = "other", gettext_lazy("Another reason")


@dataclass(frozen=True)
class Goodwill:
    line: Line
    bucket: Bucket  # the bucket extended, or the pack's new one
    old_expiry: datetime | None
    new_expiry: datetime | None
    notice: Notice | None


def goodwill_packs() -> models.QuerySet[Plan]:
    """The packs staff can give: add-ons on sale, in the catalogue's order."""
    return Plan.objects.filter(is_addon=True, is_active=True).order_by("sort_order", "code")


def goodwill_line_check(*, line: Line) -> None:
    """Refuse goodwill for a line nobody holds or that is not active (ValidationError)."""
    if line.owner_id is None:
        raise ValidationError(_("This line has no owner: there is nobody to give goodwill to."), code="no_owner")
    if line.status != Line.Status.ACTIVE:
        raise ValidationError(
            _("This line is %(status)s: goodwill is only for active lines.") % {"status": line.get_status_display()},
            code="not_active",
        )


def goodwill_check(*, line: Line, days: int | None = None, pack: Plan | None = None) -> None:
    """Refuse goodwill that cannot be given, with a message staff can act on (ValidationError)."""
    goodwill_line_check(line=line)
    if (days is None) == (pack is None):
        raise ValidationError(_("Give either days or a data pack."), code="days_or_pack")
    if days is not None:
        if not 1 <= days <= GOODWILL_MAX_DAYS:
            raise ValidationError(
                _("Give between 1 and %(max)d days.") % {"max": GOODWILL_MAX_DAYS}, code="days_out_of_range"
            )
        if line.expires_at is None:
            raise ValidationError(
                _("This line has never had a plan, so it has no validity to extend. Give a data pack instead."),
                code="no_plan",
            )
    if pack is not None and not (pack.is_addon and pack.is_active and not pack.is_flexible):
        raise ValidationError(_("Choose a data pack that is on sale."), code="not_a_pack")


def line_goodwill_give(
    *,
    line: Line,
    actor: Any,
    reason: str,
    note: str,
    days: int | None = None,
    pack: Plan | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    attempt: str = "",
) -> Goodwill:
    """Give ``line`` ``days`` more days or the add-on ``pack``, for ``reason`` (a GoodwillReason)
    and ``note``; one transaction.

    Days follow a renewal's rule (``line_validity_extend``: the expiry moves to
    ``max(now, expiry) + days`` with the current base bucket, no allowance added); a pack is a
    bucket granted as a bought one is (``bucket_grant``), the expiry unchanged. The customer is
    told (a notice and its email, in their own language) and the audit trail records the action,
    its reason, and the expiry before and after (or the pack). Refused with a ValidationError,
    nothing written, when ``goodwill_check`` says no, or when goodwill with the same ``attempt``
    (the form's one-time token) was given already: a form sent twice gives once. The line's lock
    makes a second sending wait for the first and then see it.
    """
    now = now or timezone.now()
    if reason not in GoodwillReason.values:
        raise ValidationError(_("Choose a reason for the goodwill."), code="no_reason")
    if not note.strip():
        raise ValidationError(_("Say why, in a few words."), code="no_note")
    with transaction.atomic():
        line = Line.objects.select_for_update(of=("self",), no_key=True).select_related("owner").get(pk=line.pk)
        goodwill_check(line=line, days=days, pack=pack)
        if attempt and _given(line, attempt):
            raise ValidationError(_("This goodwill was already given: the form was sent twice."), code="already_given")
        old_expiry = line.expires_at
        if days is not None:
            bucket = line_validity_extend(line=line, days=days, now=now)
            changes = {"expires_at": (_iso(old_expiry), _iso(bucket.expires_at))}
        else:
            assert pack is not None
            bucket = bucket_grant(line=line, plan=pack, now=now)
            changes = {"pack": ("", pack.code)}
        line.refresh_from_db(fields=["expires_at", "plan"])
        entry = audit_action(
            actor=actor,
            obj=line,
            action=GOODWILL_ACTION,
            changes=changes,
            reason=f"{GoodwillReason(reason).label}: {note.strip()}",
            request=request,
            reason_code=reason,
            days=days,
            pack=pack.code if pack else None,
            bucket=bucket.pk,
            attempt=attempt,
        )
        assert line.owner is not None  # goodwill_check
        notice = notice_create(
            user=line.owner,
            kind=Notice.Kind.GOODWILL,
            key=goodwill_key(audit_entry_id=entry.pk),
            line=line,
            link=reverse("plans:line", args=[line.pk]),
            params={
                "days": days or 0,
                "plan_code": pack.code if pack else "",
                "plan_name_en": pack.name_en if pack else "",
                "plan_name_zh": pack.name_zh if pack else "",
                "expires_at": bucket.expires_at.isoformat(),
                "msisdn": str(line.msisdn.as_e164),
            },
        )
    return Goodwill(line=line, bucket=bucket, old_expiry=old_expiry, new_expiry=line.expires_at, notice=notice)


def _given(line: Line, attempt: str) -> bool:
    entries = LogEntry.objects.get_for_object(line)
    return bool(entries.filter(additional_data__action=GOODWILL_ACTION, additional_data__attempt=attempt).exists())


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""
