"""The catalogue (public) and a customer's line page."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_stubs_ext import StrOrPromise

from accounts.http import CustomerRequest
from plans import esim, recommender, selectors
from plans.currency import currency_for, remember_currency
from plans.forms import RecommendForm
from plans.models import CURRENCIES, Line, Plan
from plans.recommendation_text import recommendation_why


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
    detail = selectors.line_detail(user=request.user, line_id=pk)
    line = detail.summary.line
    return render(
        request,
        "plans/line_detail.html",
        {
            "detail": detail,
            "summary": detail.summary,
            "line": line,
            "chart": esim.usage_chart(detail.usage),
            "qr_svg": esim.qr_svg(line.activation_code),
            "ios_install_url": esim.ios_install_url(line.activation_code),
        },
    )


def recommend(request: HttpRequest) -> HttpResponse:
    """The plan recommender. The need comes in the query string, so an answer's URL can be shared;
    a logged-in customer starts from one of their lines' average month (the first, or ``?line=``)."""
    currency = currency_for(request)
    plans = list(selectors.catalogue(currency=currency))
    lines: list[Line] = []
    line = None
    if request.user.is_authenticated:
        lines = list(Line.objects.filter(owner=request.user).order_by("added_at", "id"))
        chosen = request.GET.get("line")
        if chosen is None:
            line = lines[0] if lines else None
        else:
            line = next((each for each in lines if str(each.pk) == chosen), None)
            if line is None:
                raise Http404("no such line")

    submitted = any(name in request.GET for name in RecommendForm.base_fields)
    countries = recommender.roaming_countries(plans)
    usage = None
    if line is not None and not submitted:
        totals = selectors.line_usage_totals(line=line, days=recommender.USAGE_MONTHS * recommender.MONTH_DAYS)
        if any(totals.values()):
            usage = recommender.need_from_usage(
                data_bytes=totals["data"], voice_seconds=totals["voice"], sms=totals["sms"]
            )

    if submitted:
        form = RecommendForm(request.GET, countries=countries)
        need = form.need() if form.is_valid() else None
    else:
        initial = {"data_gb": usage.data_gb, "minutes": usage.minutes, "sms": usage.sms} if usage else None
        form = RecommendForm(initial=initial, countries=countries)
        need = usage
    recommendation = recommender.plan_recommend(need=need, plans=plans, currency=currency) if need else None
    response = render(
        request,
        "plans/recommend.html",
        {
            "form": form,
            "recommendation": recommendation,
            "why": recommendation_why(recommendation) if recommendation else "",
            "from_usage": usage is not None and not submitted,
            "currency": currency,
            "lines": lines,
            "line": line,
        },
    )
    remember_currency(request, response)
    return response
