"""What makes the site installable as an app: the web app manifest, the favicon and the service
worker, all at the root of the site.

The worker (``static/js/sw.js``) is served from ``/sw.js`` rather than ``/static/`` so that its
scope is the whole site. It keeps one logged-in customer's home page (their balances) to show
offline, and forgets it on log-out; see the comments at its top.
"""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

# The brand colour of static/css/boom.css (--brand): the phone's status bar and splash screen.
THEME_COLOR = "#a0144c"
BACKGROUND_COLOR = "#f5f5f9"
MANIFEST_MAX_AGE = 60 * 60 * 24


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """``GET /manifest.webmanifest``: the app's name and icons in the page's language.

    Browsers fetch a manifest without cookies, so the page names its language in ``?lang=``;
    without one (or an unknown one) it is the language Django picked from the request.
    """
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        body = {
            "id": "/",
            "name": _("Boom eSIM"),
            "short_name": _("Boom"),
            "description": _("Check what is left on your Boom eSIM lines and renew them."),
            "lang": translation.get_language(),
            "dir": "rtl" if translation.get_language_bidi() else "ltr",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "theme_color": THEME_COLOR,
            "background_color": BACKGROUND_COLOR,
            "icons": [
                {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
                {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
                {
                    "src": static("icons/icon-maskable-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
    response = JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, public=True, max_age=MANIFEST_MAX_AGE)
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """``GET /favicon.ico``, which browsers ask for whatever the page says: the static file."""
    return HttpResponsePermanentRedirect(static("icons/favicon.ico"))


@lru_cache(maxsize=1)
def _service_worker_source() -> bytes:
    found = finders.find("js/sw.js")
    if not isinstance(found, str):
        raise LookupError("static/js/sw.js is missing")
    return Path(found).read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """``GET /sw.js``: the service worker, scope ``/``. ``no-cache``, so that a new version
    reaches phones at their next visit."""
    response = HttpResponse(_service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    patch_cache_control(response, no_cache=True)
    return response
