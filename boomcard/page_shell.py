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

What else a page takes from the request is in the cache's name, the path with its query string
(the language switch's ``next``), or in its variant: the view's name for it, the language and
the time zone. The user's name and the bell's count are customer data, dropped with the
generation. A page is never cached while the request has messages to show: the view renders it
as before, and they are shown once.

The page around its body (``base.html``'s header, navigation and footer, the page's title and
scripts) is drawn once in each process under everything it shows (``drawn_once``): the template,
the address, the customer, the bell's count and every value of the view's context but its HTML
(each ``SafeString``, a *slot*, drawn with a marker in its place and put in afterwards). So the
first view after a change draws only what the view's own HTML shows, and the frame is reused.

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
from django.utils.safestring import SafeString, mark_safe

from boomcard.page_cache import customer_cached
from boomcard.page_fragments import TOKEN_MARKER, drawn_once, fragment_for, fragment_name

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
        return None if page is None else _page_html(request, template, page)

    html = customer_cached(user.pk, page_cache_name(request), build, variant=fragment_name(name))
    if html is None:
        return None
    return HttpResponse(page_for(request, html))


def page_cache_name(request: HttpRequest) -> str:
    """The name the customer's page at the request's address (its path and query string) is
    kept under in their page cache: known before the user is read, so that the page can be read
    with them (``boomcard.page_cache.reads_ahead``). What else the page depends on (the view's
    name for it, the language, the time zone) is its variant."""
    return "page:" + hashlib.sha256(request.get_full_path().encode()).hexdigest()[:24]


# What the frame's key may hold: values whose repr is what they show.
_PLAIN = (str, int, float, bool, type(None))


def _slot(name: str) -> SafeString:
    return mark_safe(f"<boom-slot-{name}>")  # noqa: S308 (a marker: a raw "<" no autoescaped text holds)


def _page_html(request: HttpRequest, template: str, page: dict[str, Any]) -> str:
    """``template`` rendered with ``page`` for the page cache: the frame from ``drawn_once``, its
    slots filled with the view's HTML. A context holding anything but HTML and plain values (a
    lazy text, a model) is rendered whole, its repr need not be what it shows; so is a page for a
    user whose bell's count was not read with them."""
    slots = {name: value for name, value in page.items() if isinstance(value, SafeString)}
    shows = {name: value for name, value in page.items() if name not in slots}

    def draw() -> str:
        frame = {**shows, **{name: _slot(name) for name in slots}, **_SHELL_CONTEXT}
        return render_to_string(template, frame, request=_ShellRequest(request))  # type: ignore[arg-type]

    # The bell's count, as accounts.backends reads it with the user (the context processor's).
    bell = getattr(request.user, "unread_notice_count", None)
    if bell is None or not all(isinstance(value, _PLAIN) for value in shows.values()):
        return render_to_string(template, {**page, **_SHELL_CONTEXT}, request=_ShellRequest(request))  # type: ignore[arg-type]
    key = repr(
        (
            template,
            request.get_full_path(),
            request.user.pk,
            bell,
            sorted(shows.items()),
            sorted(slots),
        )
    )
    html = drawn_once("frame", key, draw)
    for name, value in slots.items():
        html = html.replace(_slot(name), value)
    return html


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
