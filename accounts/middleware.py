import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.translation import ngettext

# Unix times in the session: the log-in, and the last request (to the minute).
LOGGED_IN_AT_KEY = "boom_logged_in_at"
SEEN_AT_KEY = "boom_seen_at"
# The last request's time is written at most this often, so that a busy customer does not cost
# a session write per request; the idle limit is as precise.
SEEN_AT_PRECISION = 60


class CustomerPreferencesMiddleware:
    """Show a logged-in customer the site in their own language and time zone.

    Anonymous visitors get the language from the switch's cookie or, failing that, the browser
    (Django's LocaleMiddleware, just before this one), and times in the default customer zone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        zone_name = settings.CUSTOMER_DEFAULT_TIME_ZONE
        if user.is_authenticated:
            zone_name = user.time_zone or zone_name
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.CUSTOMER_DEFAULT_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def session_times_start(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On ``user_logged_in``: the session's clocks start."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGGED_IN_AT_KEY] = now
        request.session[SEEN_AT_KEY] = now


class SessionLimitsMiddleware:
    """Log a customer out after ``SESSION_IDLE_MINUTES`` without a request, and
    ``SESSION_MAX_HOURS`` after they logged in whatever they do, saying why on the next page.

    A logged-in session without a log-in time (made before these limits) is ended too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        session = request.session
        now = time.time()
        logged_in_at: float | None = session.get(LOGGED_IN_AT_KEY)
        seen_at: float = session.get(SEEN_AT_KEY) or logged_in_at or 0
        idle_minutes = settings.SESSION_IDLE_MINUTES
        max_hours = settings.SESSION_MAX_HOURS
        if logged_in_at is None or now - logged_in_at > max_hours * 3600:
            logout(request)
            messages.info(
                request,
                ngettext(
                    "For your safety you are logged out %(hours)d hour after logging in. Please log in again.",
                    "For your safety you are logged out %(hours)d hours after logging in. Please log in again.",
                    max_hours,
                )
                % {"hours": max_hours},
            )
        elif now - seen_at > idle_minutes * 60:
            logout(request)
            messages.info(
                request,
                ngettext(
                    "You were logged out after %(minutes)d minute without activity. Please log in again.",
                    "You were logged out after %(minutes)d minutes without activity. Please log in again.",
                    idle_minutes,
                )
                % {"minutes": idle_minutes},
            )
        elif now - seen_at >= SEEN_AT_PRECISION:
            session[SEEN_AT_KEY] = int(now)
