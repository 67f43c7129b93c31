"""The catalogue (public) and a customer's line page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from boomcard.http import CustomerRequest
from plans import esim, selectors
from plans.currency import currency_for, remember_currency
from plans.models import CURRENCIES, Plan


def catalogue(request: HttpRequest) -> HttpResponse:
    currency = currency_for(request)
    plans = list(selectors.catalogue(currency=currency))
    sections = [
        (kind, label, [plan for plan in plans if plan.kind == kind and selectors.offered_price(plan)])
        for kind, label in Plan.Kind.choices
    ]
    response = render(
        request,
        "plans/catalogue.html",
        {"sections": [s for s in sections if s[2]], "currency": currency, "currencies": CURRENCIES},
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
    raise NotImplementedError("the plan recommender is being written (plans/recommender.py)")
