"""The catalogue (public), a customer's line page and the plan recommender."""

import hashlib
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from accounts.http import CustomerRequest
from accounts.models import User
from boomcard.page_fragments import drawn_once
from boomcard.page_shell import customer_page
from boomcard.rows import row_columns
from plans import recommender, selectors
from plans.currency import currency_for, remember_currency
from plans.forms import TRIP_ROWS, RecommendForm
from plans.line_page import line_page
from plans.models import CURRENCIES, Line, Plan
from plans.recommendation_text import plan_fit_text, recommendation_why
from plans.summary_sql import lines_with_freshness


def catalogue(request: HttpRequest) -> HttpResponse:
    currency = currency_for(request)
    plans = list(selectors.catalogue(currency=currency))
    on_sale = [plan for plan in plans if selectors.offered_price(plan)]
    # Base plans by kind, then every add-on pack under one heading of its own: a top-up is a
    # "basic" kind of pack, but listing it under "Basic" reads as if it were a base plan.
    sections: list[tuple[str, StrOrPromise, list[Plan]]] = [
        (kind, label, [plan for plan in on_sale if plan.kind == kind and not plan.is_addon])
        for kind, label in Plan.Kind.choices
    ]
    sections.append(("addon", _("Add-on packs"), [plan for plan in on_sale if plan.is_addon]))
    response = render(
        request,
        "plans/catalogue.html",
        {
            "sections": [s for s in sections if s[2]],
            "currency": currency,
            "currencies": [code for code, _label in CURRENCIES],
        },
    )
    remember_currency(request, response)
    return response


def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    currency = currency_for(request)
    plan = selectors.plan_on_sale(code=code, currency=currency)
    response = render(
        request,
        "plans/plan_detail.html",
        {"plan": plan, "price": selectors.offered_price(plan), "currency": currency},
    )
    remember_currency(request, response)
    return response


@login_required
def line_detail(request: CustomerRequest, pk: int) -> HttpResponse:
    def context() -> dict[str, object]:
        title, body = line_page(user=request.user, line_id=pk)
        return {"title": title, "body": body}

    response = customer_page(request, f"line:{pk}", "plans/line_detail.html", context)
    return response if response is not None else render(request, "plans/line_detail.html", context())


def recommend(request: HttpRequest) -> HttpResponse:
    """The plan recommender. The need comes in the query string, so an answer's URL can be shared;
    a logged-in customer starts from one of their lines' average month (the first, or ``?line=``).

    The whole page is kept per customer, query, currency, language and change of their data
    (``boomcard.page_shell``): the page's own nonce and token are filled in per request."""
    currency = currency_for(request)
    if request.user.is_authenticated:
        user = request.user

        def context() -> dict[str, object]:
            return {"body": mark_safe(_recommend_body(request.GET, currency, user))}  # noqa: S308 - our template

        # The page's name has the currency (from a cookie); its address has the query.
        response = customer_page(
            request, f"recommend:{currency}", "plans/recommend.html", context, params=RECOMMEND_PARAMS
        )
        if response is None:
            response = render(request, "plans/recommend.html", context())
    else:
        body = _recommend_body(request.GET, currency, None)
        response = render(request, "plans/recommend.html", {"body": mark_safe(body)})  # noqa: S308 - our template
    remember_currency(request, response)
    return response


# The history a line needs before the page says whether its plan fits (two of the three months).
FIT_HISTORY_DAYS = 60
# The form's markup depends only on what it was given: kept in each process's memory under that.
FORM_SECONDS = 24 * 60 * 60
# What the recommender reads from its query string (the form's fields and the line it starts
# from): a page whose address names anything else is drawn, not kept whole.
RECOMMEND_PARAMS = frozenset(
    ["data_gb", "minutes", "sms", "line"]
    + [f"trip{row}_{part}" for row in range(1, TRIP_ROWS + 1) for part in ("country", "days")]
)


def _form_html(form: RecommendForm, countries: list[str]) -> SafeString:
    """The form's fields, drawn once per language, countries on sale and values (submitted or
    from a line's usage) in each process: not per customer, and never stale, since all that
    decides the markup is in the key."""
    data = form.data
    if isinstance(data, QueryDict):
        values: list[tuple[str, object]] = [(name, data.getlist(name)) for name in form.fields]
    else:
        values = sorted({**form.initial, **data}.items())
    text = repr((translation.get_language(), countries, form.is_bound, values))
    key = "recommend-form:" + hashlib.sha256(text.encode()).hexdigest()[:32]
    fragments = caches["fragments"]
    html = fragments.get(key)
    if html is None:
        html = render_to_string("plans/recommend_form.html", {"form": form})
        fragments.set(key, html, FORM_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by our own template, escaped there


def _recommend_body(query: QueryDict, currency: str, user: User | None) -> str:
    plans = list(selectors.catalogue(currency=currency))
    lines: list[Line] = []
    line = None
    if user is not None:
        lines = lines_with_freshness(owner_id=user.pk)
        chosen = query.get("line")
        if chosen is None:
            line = lines[0] if lines else None
        else:
            line = next((each for each in lines if str(each.pk) == chosen), None)
            if line is None:
                raise Http404("no such line")

    submitted = any(name in query for name in RecommendForm.base_fields)
    countries = recommender.roaming_countries(plans)
    usage = None
    history_days = 0
    if line is not None and not submitted:
        totals = selectors.line_usage_totals(line=line, days=recommender.USAGE_MONTHS * recommender.MONTH_DAYS)
        history_days = totals["days"]
        if totals["data"] or totals["voice"] or totals["sms"]:
            usage = recommender.need_from_usage(
                data_bytes=totals["data"], voice_seconds=totals["voice"], sms=totals["sms"]
            )

    if submitted:
        form = RecommendForm(query, countries=countries)
        need = form.need() if form.is_valid() else None
    else:
        initial = {"data_gb": usage.data_gb, "minutes": usage.minutes, "sms": usage.sms} if usage else None
        form = RecommendForm(initial=initial, countries=countries)
        need = usage
    recommendation = recommender.plan_recommend(need=need, plans=plans, currency=currency) if need else None
    fit = None
    # Whether the plan fits is said only of a line used over most of the 90 days: a month's
    # average of a line a fortnight old would say "fits" of a plan its forecast sees run out.
    if usage is not None and line is not None and line.plan is not None and history_days >= FIT_HISTORY_DAYS:
        fit = recommender.plan_fit(need=usage, current=line.plan, plans=plans, currency=currency)
    context = {
        "form_html": _form_html(form, countries),
        "recommendation": recommendation,
        "why": recommendation_why(recommendation) if recommendation else "",
        "fit": plan_fit_text(fit, line) if fit else "",
        "from_usage": usage is not None and not submitted,
        "currency": currency,
        "lines": lines,
        "line": line,
    }
    # Drawn once per process under all it shows: the same answer to the same need, from the
    # same lines and offers, is not drawn again on the first view after a change elsewhere.
    return drawn_once(
        "recommend", _recommend_shows(context), lambda: render_to_string("plans/recommend_content.html", context)
    )


def _recommend_shows(context: dict[str, Any]) -> str:
    """Everything the recommender's content shows, as text (``drawn_once``'s key): each option's
    figures and items (every column of their plans), the texts, the form, the lines to start from."""
    recommendation: recommender.Recommendation | None = context["recommendation"]
    options = [
        (
            option.currency,
            option.data_mb,
            option.minutes,
            option.sms,
            option.covers,
            option.extra_minor,
            [(row_columns(i.plan), i.quantity, i.cost_minor, i.choice, i.trip, i.in_turn) for i in option.items],
        )
        for option in (recommendation.options if recommendation else ())
    ]
    line: Line | None = context["line"]
    return repr(
        (
            recommendation is not None and recommendation.covers,
            options,
            [context[name] for name in ("why", "fit", "from_usage", "currency", "form_html")],
            [row_columns(each) for each in context["lines"]],
            line and line.pk,
        )
    )
