"""What the recommend page says about an answer, in the active language. The recommender returns
numbers (the need, the options and their costs); the sentences are written here."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from boomcard.formats import country_name, data_amount, gb_amount, list_text, minutes_count, money, sms_count
from plans.recommender import MONTH_DAYS, Need, Option, PlanFit, Recommendation


def recommendation_why(recommendation: Recommendation) -> str:
    """Why the recommended option: what it covers and for how much a month, and how the next
    option compares; or what the closest option gives when nothing covers the need."""
    currency, best = recommendation.currency, recommendation.best
    if best is None:
        return _("No plans are on sale in %(currency)s right now.") % {"currency": currency}
    if not best.covers:
        return _("Nothing we sell covers %(needs)s. The closest option gives %(gives)s for %(cost)s a month.") % {
            "needs": need_text(recommendation.need),
            "gives": allowance_text(best),
            "cost": money(best.cost_minor, currency),
        }
    values = {"needs": need_text(recommendation.need), "cost": money(best.cost_minor, currency)}
    alternatives = recommendation.alternatives
    if not alternatives:
        return _("Covers %(needs)s for %(cost)s a month; it is the only option that does.") % values
    if alternatives[0].extra_minor == 0:
        return _("Covers %(needs)s for %(cost)s a month; the next option costs the same.") % values
    return _("Covers %(needs)s for %(cost)s a month; the next option costs %(difference)s more.") % {
        **values,
        "difference": money(alternatives[0].extra_minor, currency),
    }


def need_text(need: Need) -> str:
    """``10 GB, 100 minutes and 7 days in Japan``; "what you need" when it is empty."""
    parts = []
    if need.data_gb:
        parts.append(gb_amount(need.data_gb))
    if need.minutes:
        parts.append(minutes_count(need.minutes))
    if need.sms:
        parts.append(sms_count(need.sms))
    for trip in need.trips:
        parts.append(
            ngettext("%(count)d day in %(country)s", "%(count)d days in %(country)s", trip.days)
            % {"count": trip.days, "country": country_name(trip.country)}
        )
    return list_text(parts) if parts else _("what you need")


def allowance_text(option: Option) -> str:
    """What an option gives at home a month: ``10 GB, 1,000 minutes and 50 SMS``."""
    return list_text([data_amount(option.data_bytes), minutes_count(option.minutes), sms_count(option.sms)])


def plan_fit_text(fit: PlanFit, line: object) -> str:
    """What the line's own plan did over its last months: a bigger plan would have saved so much,
    or the plan fits."""
    values = {"line": line, "plan": fit.plan.name, "days": fit.months * MONTH_DAYS}
    if fit.better is not None:
        return _(
            "At the pace %(line)s uses data, %(plan)s runs out before each month ends. %(better)s would have "
            "saved you %(saved)s over the last %(days)d days."
        ) % {**values, "better": fit.better.name, "saved": money(fit.saved_minor, fit.currency)}
    if fit.runs_out:
        return (
            _(
                "%(plan)s runs out before each month ends at the pace %(line)s uses data, but with top-ups it still "
                "costs less than a bigger plan would have over the last %(days)d days: it fits."
            )
            % values
        )
    return _("%(plan)s fits what %(line)s used over the last %(days)d days.") % values
