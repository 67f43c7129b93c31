import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


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
