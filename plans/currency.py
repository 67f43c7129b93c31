"""Which currency a visitor sees prices in: their choice (a cookie), else the site default."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from plans.models import CURRENCIES

COOKIE = "boom_currency"
CODES = {code for code, _label in CURRENCIES}


def currency_for(request: HttpRequest) -> str:
    chosen = request.GET.get("currency") or request.COOKIES.get(COOKIE, "")
    return chosen if chosen in CODES else settings.DEFAULT_CURRENCY


def remember_currency(request: HttpRequest, response: HttpResponse) -> None:
    chosen = request.GET.get("currency", "")
    if chosen in CODES:
        response.set_cookie(COOKIE, chosen, max_age=60 * 60 * 24 * 365, samesite="Lax", httponly=True)
