"""Headers and cookie flags that every response gets (and ``loads_stripe_js``, for the pages
that load Stripe.js), and the page cache's reads and stores sent together."""

import threading
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any, Literal, TypeVar, cast

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.signing import Signer
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare

from boomcard.content_policy import ADMIN_SCRIPTS, STRIPE_TRUSTED_TYPES, stripe_sources
from boomcard.page_cache import reads_ahead, stores_deferred
from boomcard.page_shell import page_cache_name

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (the policy is ``settings.CONTENT_SECURITY_POLICY``; the nonce is
    ``request.csp_nonce``), with the directives that name Stripe rebuilt for each response from
    ``STRIPE_JS_URL`` and ``STRIPE_API_BASE`` as they are then (the tests start localstripe on a
    free port and point the settings at it after start-up), and the admin's pages allowed their
    own scripts without a nonce (``ADMIN_SCRIPTS``)."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """django-csp's own (4.0), but each policy is built once per set of parts and kept, with
        a slot for the nonce: django-csp builds the same header again for every response, a
        quarter of /ping's time through the whole stack (bench/middleware.py)."""
        if response.status_code in (HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.NOT_FOUND) and settings.DEBUG:
            return response
        for report_only, header, exempt, setting in (
            (False, HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            parts = self.get_policy_parts(request=request, response=response, report_only=report_only)
            policy = _policies.build(parts, report_only=report_only)
            excluded = tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())
            if (
                policy
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written would not be in it.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only:
            current: dict[str, list[str] | None] = {
                **stripe_sources(js_url=settings.STRIPE_JS_URL, api_base=settings.STRIPE_API_BASE)
            }
            match = getattr(request, "resolver_match", None)
            if match is not None and match.app_name == "admin":
                current |= ADMIN_SCRIPTS
            # A view's own csp_replace still wins.
            parts.replace = current | (parts.replace or {})
        return parts


class _PolicyMemo:
    """Policies built by django-csp's ``build_policy``, remembered by their parts (a nonce
    stands as a slot, filled for each response); forgotten whenever a policy setting is
    replaced (the tests override them)."""

    NONCE_SLOT = "boom-nonce-slot"  # a nonce is base64: it never holds a "-"
    MOST = 256

    def __init__(self) -> None:
        self.built: dict[tuple[object, ...], str] = {}
        self.settings_seen: tuple[object, ...] = ()
        self.lock = threading.Lock()

    def build(self, parts: PolicyParts, *, report_only: bool) -> str:
        seen = (
            getattr(settings, "CONTENT_SECURITY_POLICY", None),
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
        )
        key = (
            _frozen(parts.config),
            _frozen(parts.update),
            _frozen(parts.replace),
            parts.nonce is not None,
            report_only,
        )
        with self.lock:
            if not self.settings_seen or any(a is not b for a, b in zip(seen, self.settings_seen, strict=True)):
                self.built, self.settings_seen = {}, seen
            policy = self.built.get(key)
        if policy is None:
            slot = self.NONCE_SLOT if parts.nonce is not None else None
            policy = build_policy(parts.config, parts.update, parts.replace, slot, report_only)
            with self.lock:
                if len(self.built) < self.MOST:
                    self.built[key] = policy
        if parts.nonce is not None:
            policy = policy.replace(f"'nonce-{self.NONCE_SLOT}'", f"'nonce-{parts.nonce}'")
        return policy


def _frozen(directives: dict[str, Any] | None) -> object:
    if directives is None:
        return None
    return tuple(
        sorted(
            (
                name,
                tuple(sorted(value))
                if isinstance(value, set)
                else tuple(value)
                if isinstance(value, list | tuple)
                else value,
            )
            for name, value in directives.items()
        )
    )


_policies = _PolicyMemo()


def loads_stripe_js(view: View) -> View:
    """For a view whose page loads Stripe.js (after static/js/stripe_policy.js): its policy also
    allows the ``default`` Trusted Types policy, which the real Stripe.js may rely on."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(*args, **kwargs)
        # django-csp's own per-response update (what its csp_update decorator sets).
        response._csp_update = STRIPE_TRUSTED_TYPES  # type: ignore[attr-defined]
        return response

    return cast(View, wrapped)


class SecureCookiesMiddleware:
    """Every cookie is Secure when the session cookie is (in production), and SameSite=Lax
    unless its setter chose otherwise, whoever set it: Django's own cookies follow their
    settings, but a view's ``set_cookie`` (the currency choice in plans) would not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for morsel in response.cookies.values():
            if settings.SESSION_COOKIE_SECURE:
                morsel["secure"] = True
            if not morsel["samesite"]:
                morsel["samesite"] = "Lax"
        return response


class PrivatePagesMiddleware:
    """``Cache-Control: no-store`` (with Django's other never-cache headers) on every response to
    a logged-in visitor: a customer's pages show an eSIM activation code, balances, receipts, and
    must stay out of shared caches and the browser's back-forward history on a shared phone.
    Needs ``request.user`` (after the authentication middleware); asks nothing of any app."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class PageCacheMiddleware:
    """Fewer round trips to the customer's page cache (``boomcard.page_cache``): a request for a
    page reads it with the customer's user (``reads_ahead``), and what the request builds is
    stored with its next read of the cache, or as it ends (``stores_deferred``). Before the
    authentication, whose user is such a value.

    A logged-in browser is also given a cookie that names its customer (``CUSTOMER_COOKIE``: the
    id its session holds, signed together with the session's key), so that the session, the user
    and the page are read in one round trip, before the session has said whose they are. The
    cookie is a hint and grants nothing: who the request is stays the session's to say, and only
    the session's customer's values are served (``reads_ahead``). Its signature binds it to the
    session it came with, so a cookie made up, or copied from another browser, is ignored and
    reads nothing of anyone's. It follows the session: set when a session with a customer is read
    and the cookie does not name them for that session, dropped when one without is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A page is read ahead for a request that may be a customer's: with a session, for a page.
        maybe_a_page = request.method in ("GET", "HEAD") and settings.SESSION_COOKIE_NAME in request.COOKIES
        pages = (page_cache_name(request),) if maybe_a_page else ()
        customer = _customer_named(request) if maybe_a_page else None
        with stores_deferred(), reads_ahead(*pages, customer=customer):
            response = self.get_response(request)
        _customer_cookie_follow(request, response, named=customer)
        return response


# The cookie that names the logged-in customer to ``PageCacheMiddleware``: "<id>.<signature>",
# the signature over the id and the session's key.
CUSTOMER_COOKIE = "boom_customer"
_signer = Signer(salt="boomcard.middleware.customer-cookie")


def customer_cookie_value(customer: str, session_key: str) -> str:
    return f"{customer}.{_signer.signature(f'{customer}.{session_key}')}"


def _customer_named(request: HttpRequest) -> int | None:
    """The customer the request's cookie names for its session, or None where it names none, or
    was not signed for this session."""
    value = request.COOKIES.get(CUSTOMER_COOKIE, "")
    customer = value.partition(".")[0]
    if not (customer.isascii() and customer.isdigit() and len(customer) <= 18):
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if not constant_time_compare(customer_cookie_value(customer, session_key), value):
        return None
    return int(customer)


def _customer_cookie_follow(request: HttpRequest, response: HttpResponse, *, named: int | None) -> None:
    """The customer cookie set to the customer of the session the request read, signed for that
    session (its key as the session middleware will send it), or dropped where the request read
    a session without one; left as it is where the request did not read its session, or where
    its cookie, ``named`` as read, already names the session's customer for the same session."""
    session = getattr(request, "session", None)
    if session is None or not session.accessed:
        return
    customer, session_key = session.get(SESSION_KEY), session.session_key
    # As the session cookie's ("Lax"): django-stubs types the argument as its literals.
    samesite = cast(Literal["Lax", "Strict", "None"], settings.SESSION_COOKIE_SAMESITE)
    if customer is not None and session_key:
        if (
            named is not None
            and str(named) == str(customer)
            and session_key == request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        ):
            return  # signed for this session, checked as the request came in
        value = customer_cookie_value(str(customer), session_key)
        if value != request.COOKIES.get(CUSTOMER_COOKIE):
            response.set_cookie(
                CUSTOMER_COOKIE, value, secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite=samesite
            )
    elif CUSTOMER_COOKIE in request.COOKIES:
        response.delete_cookie(CUSTOMER_COOKIE, samesite=samesite)
