"""What every accounts page shares: django-axes' lockout page. (A rate limit is answered in one
place for the whole site: ``boomcard.ratelimit``.)"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """What django-axes shows once a number or an address has too many failed log-ins."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/lockout.html", {"lockout_minutes": minutes}, status=429)
