"""What a notice says, in the active language: the same words in the site and in its email; and
what a staff alert says in its email."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import Notice, StaffAlert
from boomcard.formats import data_amount, date_time, days_left, hours_left, money, phone_number


@dataclass(frozen=True)
class NoticeText:
    title: str
    body: str
    action: str  # the link's label


@dataclass(frozen=True)
class StaffAlertText:
    title: str
    body: str
    facts: list[tuple[str, str]]  # (label, value), in order
    action: str  # the admin link's label


# How a failed payment's code reads in the customer's language. Billing knows Stripe's codes and
# registers its wording when it loads (billing.apps); this module, lower down, only calls it.
_payment_reason_wording: Callable[[str, str], str] | None = None


def payment_reason_wording_register(wording: Callable[[str, str], str]) -> None:
    """``wording(code, stripe_text)``: the sentence a customer reads for a failed payment."""
    global _payment_reason_wording
    _payment_reason_wording = wording


def _payment_reason(params: dict[str, Any]) -> str:
    code, text = str(params.get("reason_code") or ""), str(params.get("reason") or "")
    if _payment_reason_wording is not None and (code or text):
        return _payment_reason_wording(code, text)
    return text or _("your bank asked for your confirmation.")


def _left_at(iso: str, written_at: datetime | None) -> timedelta | None:
    """The time from ``written_at`` (when the notice was written) to the moment ``iso``."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None
    return moment - written_at if written_at else None


def _runs_out_in(left: timedelta) -> str:
    """ "Runs out in N days" (part of a day counts as a day, as on the home page), or in N hours
    (part of an hour counts as an hour) when a day or less is left."""
    if left > timedelta(days=1):
        days = days_left(left)
        return ngettext("Your plan runs out in %(days)d day", "Your plan runs out in %(days)d days", days) % {
            "days": days
        }
    hours = max(1, hours_left(left))
    return ngettext("Your plan runs out in %(hours)d hour", "Your plan runs out in %(hours)d hours", hours) % {
        "hours": hours
    }


def _plan_name(params: dict[str, object]) -> str:
    from django.utils.translation import get_language

    zh = (get_language() or "").startswith("zh")
    return str(params.get("plan_name_zh" if zh else "plan_name_en") or params.get("plan_code") or "")


def notice_text(notice: Notice) -> NoticeText:
    p = notice.params or {}
    amount = money(int(p.get("amount_minor", 0)), str(p.get("currency", ""))) if "amount_minor" in p else ""
    number = phone_number(p.get("msisdn", ""))
    if notice.kind == Notice.Kind.PAYMENT_CONFIRMED:
        return NoticeText(
            title=_("Payment received"),
            body=_("We received %(amount)s for %(plan)s on %(number)s (order %(order)s). It now runs until %(when)s.")
            % {
                "amount": amount,
                "plan": _plan_name(p),
                "number": number,
                "order": p.get("order", ""),
                "when": date_time(str(p.get("expires_at", ""))),
            },
            action=_("See the order"),
        )
    if notice.kind == Notice.Kind.PAYMENT_NEEDED:
        return NoticeText(
            title=_("We could not renew your line automatically"),
            body=_("Your saved card was not charged %(amount)s: %(reason)s Please pay by hand to keep your number.")
            % {"amount": amount, "reason": _payment_reason(p)},
            action=_("Pay now"),
        )
    if notice.kind == Notice.Kind.REFUNDED:
        return NoticeText(
            title=_("Refund on its way"),
            body=_("We refunded %(amount)s for order %(order)s. It reaches your account in a few days.")
            % {"amount": amount, "order": p.get("order", "")},
            action=_("See the order"),
        )
    if notice.kind == Notice.Kind.LOW_BALANCE:
        threshold = int(p.get("threshold", 0))
        left = data_amount(int(p.get("data_left", 0)))
        if threshold == 0:
            title = _("You have used all your data")
            body = _("Your data on this plan is used up. Renew or add a top-up pack to carry on.")
        else:
            title = _("%(percent)d%% of your data left") % {"percent": threshold}
            body = _("You have %(left)s of data left. Renew or add a top-up pack before it runs out.") % {"left": left}
        return NoticeText(title=title, body=body, action=_("Top up"))
    if notice.kind == Notice.Kind.DATA_RUNOUT:
        return _data_runout_text(p, number)
    if notice.kind == Notice.Kind.RENEWAL_REMINDER:
        expires_at = str(p.get("expires_at", ""))
        when = date_time(expires_at)
        time_left = _left_at(expires_at, notice.created_at)
        if time_left is None and int(p.get("days", 0)) > 0:
            time_left = timedelta(days=int(p.get("days", 0)))
        if time_left is None or time_left <= timedelta(0):
            title = _("Your plan has run out")
            body = _("The plan on %(number)s ran out on %(when)s. Renew now to keep your number.") % {
                "number": number,
                "when": when,
            }
        else:
            title = _runs_out_in(time_left)
            body = _("The plan on %(number)s runs out on %(when)s. Renew in one click to keep your number.") % {
                "number": number,
                "when": when,
            }
        return NoticeText(title=title, body=body, action=_("Renew"))
    if notice.kind == Notice.Kind.AUTO_RENEW_UPCOMING:
        return NoticeText(
            title=_("Auto-renew charges your card on %(when)s") % {"when": date_time(str(p.get("charge_at", "")))},
            body=_(
                "On %(when)s we will charge %(amount)s to your %(brand)s card ending in %(last4)s for %(plan)s "
                "on %(number)s. To skip this renewal or change its plan, do so before then."
            )
            % {
                "when": date_time(str(p.get("charge_at", ""))),
                "amount": amount,
                "brand": str(p.get("card_brand", "")).title(),
                "last4": p.get("card_last4", ""),
                "plan": _plan_name(p),
                "number": number,
            },
            action=_("Skip or change"),
        )
    if notice.kind == Notice.Kind.SUPPORT_RECEIVED:
        return NoticeText(
            title=_("We received your message"),
            body=_("Thank you. Our team answers within one working day (request %(ref)s).") % {"ref": p.get("ref", "")},
            action=_("Help centre"),
        )
    if notice.kind == Notice.Kind.GOODWILL:
        return _goodwill_text(p, number)
    if notice.kind == Notice.Kind.SUPPORT_REPLIED:
        return NoticeText(
            title=_("Our team answered you"),
            body=_("We answered your request %(ref)s. Read the answer, and reply if you need to, on the help page.")
            % {"ref": p.get("ref", "")},
            action=_("Read the answer"),
        )
    if notice.kind in _SECURITY_TITLES:
        not_you = _("If this was not you, reset your password now and write to our support team.")
        return NoticeText(
            title=str(_SECURITY_TITLES[notice.kind]),
            body=f"{_security_body(notice.kind, p)} {not_you}",
            action=_("Your account's security"),
        )
    return NoticeText(title=notice.get_kind_display(), body="", action=_("Open"))


def _data_runout_text(p: dict[str, Any], number: str) -> NoticeText:
    """The forecast's alert (plans.runout): at this pace the data ends days before the plan."""
    try:
        runs_out_on = formats.date_format(date.fromisoformat(str(p.get("runs_out_on", ""))), "MONTH_DAY_FORMAT")
    except ValueError:
        runs_out_on = ""
    days = int(p.get("days_early") or 0)
    body = ngettext(
        "At the pace you use it, the data on %(number)s runs out around %(when)s, %(days)d day before the "
        "plan ends on %(end)s. Add a top-up pack to keep going.",
        "At the pace you use it, the data on %(number)s runs out around %(when)s, %(days)d days before the "
        "plan ends on %(end)s. Add a top-up pack to keep going.",
        days,
    ) % {"number": number, "when": runs_out_on, "days": days, "end": date_time(str(p.get("expires_at", "")))}
    return NoticeText(title=_("Your data may run out early"), body=body, action=_("See top-up packs"))


def _goodwill_text(p: dict[str, Any], number: str) -> NoticeText:
    """Days or a pack that support gave a line (plans.lines.line_goodwill_give)."""
    when = date_time(str(p.get("expires_at", "")))
    days = int(p.get("days") or 0)
    if days:
        body = ngettext(
            "Our support team added %(days)d day to %(number)s. It now runs until %(when)s.",
            "Our support team added %(days)d days to %(number)s. It now runs until %(when)s.",
            days,
        ) % {"days": days, "number": number, "when": when}
    else:
        body = _("Our support team added %(plan)s to %(number)s, usable until %(when)s.") % {
            "plan": _plan_name(p),
            "number": number,
            "when": when,
        }
    return NoticeText(title=_("A gift from Boom support"), body=body, action=_("See the line"))


_SECURITY_TITLES: dict[str, str | Promise] = {
    Notice.Kind.PASSWORD_RESET: gettext_lazy("Your password was reset"),
    Notice.Kind.PASSWORD_CHANGED: gettext_lazy("Your password was changed"),
    Notice.Kind.TWO_FACTOR_ON: gettext_lazy("Two-step log-in is on"),
    Notice.Kind.TWO_FACTOR_OFF: gettext_lazy("Two-step log-in is off"),
    Notice.Kind.EMAIL_CHANGED: gettext_lazy("Your email was changed"),
}


def _security_body(kind: str, p: dict[str, object]) -> str:
    if kind == Notice.Kind.PASSWORD_RESET:
        return _("The password of your Boom account was reset with a code sent to your number.")
    if kind == Notice.Kind.PASSWORD_CHANGED:
        return _("The password of your Boom account was changed.")
    if kind == Notice.Kind.TWO_FACTOR_ON:
        return _("Logging in to your Boom account now also needs a code from an authenticator app.")
    if kind == Notice.Kind.TWO_FACTOR_OFF:
        return _("Logging in to your Boom account no longer needs a code from an authenticator app.")
    return _("Receipts and notices for your Boom account now go to %(email)s.") % {"email": p.get("email", "")}


def staff_alert_text(alert: StaffAlert) -> StaffAlertText:
    p = alert.params or {}
    if alert.kind == StaffAlert.Kind.DISPUTE:
        due = date_time(str(p.get("evidence_due_by", "")))
        amount = money(int(p.get("amount_minor", 0)), str(p.get("currency", "")))
        return StaffAlertText(
            title=_("Payment disputed: order %(order)s") % {"order": p.get("order", "")},
            body=_(
                "The customer's bank or wallet disputes this payment. The customer keeps the plan until "
                "staff decide; answer the dispute at Stripe before evidence is due."
            ),
            facts=[
                (_("Order"), str(p.get("order", ""))),
                (_("Customer"), phone_number(p.get("phone", ""))),
                (_("Amount"), amount),
                (_("Reason"), str(p.get("reason", ""))),
                (_("Evidence due by"), f"{due} ({timezone.get_current_timezone_name()})" if due else "-"),
                (_("Stripe dispute"), str(p.get("dispute", ""))),
            ],
            action=_("Open the order in the admin"),
        )
    return StaffAlertText(title=str(alert.get_kind_display()), body="", facts=[], action=_("Open"))
