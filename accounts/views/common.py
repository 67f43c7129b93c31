"""Pieces every accounts page shares: the answers to too many tries (django-axes' lockout, a rate
limit) and a form page refused for one."""

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# ValidationError codes that mean "too many from this client": the page answers 429.
RATE_LIMITED = {"too_many_from_address", "rate_limited"}


def lockout(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """What django-axes shows once a number or an address has too many failed log-ins."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/lockout.html", {"lockout_minutes": minutes}, status=429)


def too_many_requests(request: HttpRequest, seconds: int) -> HttpResponse:
    """The page for a client over a rate limit, with when to come back."""
    minutes = math.ceil(seconds / 60)
    response = render(request, "accounts/rate_limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def refused(response: HttpResponse, error: ValidationError) -> HttpResponse:
    """A form page showing ``error``: 429 when the error is a rate limit."""
    if error.code in RATE_LIMITED:
        response.status_code = 429
    return response
