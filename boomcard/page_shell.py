"""A customer's whole page kept as HTML in their page cache (``boomcard.page_cache``), so that a
warm view renders no template at all: the page (``base.html`` around the body the view caches) is
rendered once per change of the customer's data, language, time zone and address, with a marker
wherever a request puts something of its own, and each request fills in its own:

- the CSRF token of every form (``TOKEN_MARKER``, as in ``boomcard.page_fragments``), and each
  form's one-time token (``FORM_TOKEN_MARKER``);
- the CSP nonce of the page's scripts (``NONCE_MARKER``): the template sees a request whose
  ``csp_nonce`` is the marker, and filling asks the real request for its nonce, which makes
  django-csp generate it and put it in the response's policy;
- the time the page was served (``page_time`` and ``page_time_iso``, for the home page's offline
  mark).

What else a page takes from the request is in the cache's name: the path with its query string
(the language switch's ``next``), the language and the time zone. The user's name and the bell's
count are customer data, dropped with the generation. A page is never cached while the request
has messages to show: the view renders it as before, and they are shown once.

Like every marker here, these hold a raw ``<``, which autoescaping never lets a customer's text
(or the address) produce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe

from boomcard.page_cache import customer_cached
from boomcard.page_fragments import TOKEN_MARKER, fragment_for, fragment_name

NONCE_MARKER = mark_safe("<boom-csp-nonce>")
TIME_MARKER = mark_safe("<boom-page-time>")
TIME_ISO_MARKER = mark_safe("<boom-page-time-iso>")

# What the page is rendered with in place of the request's own.
_SHELL_CONTEXT = {
    "csrf_token": TOKEN_MARKER,
    "messages": (),
    "page_time": TIME_MARKER,
    "page_time_iso": TIME_ISO_MARKER,
}


def page_clock() -> dict[str, str]:
    """The time the page is served, as the home page's offline mark shows it (the current time
    zone's hours and minutes) and keeps it (ISO 8601)."""
    now = timezone.localtime()
    return {"page_time": dateformat.format(now, "H:i"), "page_time_iso": dateformat.format(now, "c")}


class _ShellRequest:
    """The request as the template sees it while the page is rendered to be cached: the same,
    but its nonce is the marker."""

    csp_nonce = NONCE_MARKER

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _messages_pending(request: HttpRequest) -> bool:
    """Whether the request has messages to show. Counting them reads them (from the cookie, or
    the session) without marking them shown: they stay for the page that shows them."""
    return bool(len(get_messages(request)))


def customer_page(
    request: HttpRequest,
    name: str,
    template: str,
    context: Callable[[], dict[str, Any] | None],
    *,
    params: Collection[str] = (),
) -> HttpResponse | None:
    """The logged-in customer's page ``template``, from their page cache and filled for this
    request; rendered and cached when missing, with ``context()`` (whose HTML holds the markers
    unfilled: bodies from ``fragment_render``). ``name`` names the page and whatever it shows
    that the request decides beyond its address (a currency from a cookie, say).

    None when the view must render the page itself: the request has messages to show, or
    ``context()`` answered None (the page is not one to cache just now, as with a body the view
    does not cache); that answer is kept like a page, under the same generation. Also None when
    the query string names anything but ``params``, what the page reads from it: an address is
    part of the cache's name, and ``?x=1``, ``?x=2``... must not make a stored page each."""
    user = request.user
    if not user.is_authenticated or _messages_pending(request):
        return None
    if any(key not in params for key in request.GET):
        return None

    def build() -> str | None:
        page = context()
        if page is None:
            return None
        return render_to_string(template, {**page, **_SHELL_CONTEXT}, request=_ShellRequest(request))  # type: ignore[arg-type]

    address = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:24]
    html = customer_cached(user.pk, fragment_name("page", name, address), build)
    if html is None:
        return None
    return HttpResponse(page_for(request, html))


def page_for(request: HttpRequest, html: str) -> str:
    """A cached page made ready for this request: its tokens (``fragment_for``), its scripts'
    nonce (the request's own, which is then in the policy django-csp writes) and the time."""
    html = fragment_for(request, html)
    if NONCE_MARKER in html:
        html = html.replace(NONCE_MARKER, str(request.csp_nonce))  # type: ignore[attr-defined]
    if TIME_MARKER in html or TIME_ISO_MARKER in html:
        clock = page_clock()
        html = html.replace(TIME_ISO_MARKER, clock["page_time_iso"]).replace(TIME_MARKER, clock["page_time"])
    return html
