"""Headers and cookie flags that every response gets (and ``loads_stripe_js``, for the pages
that load Stripe.js)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers

from boomcard.content_policy import ADMIN_SCRIPTS, STRIPE_TRUSTED_TYPES, stripe_sources

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (the policy is ``settings.CONTENT_SECURITY_POLICY``; the nonce is
    ``request.csp_nonce``), with the directives that name Stripe rebuilt for each response from
    ``STRIPE_JS_URL`` and ``STRIPE_API_BASE`` as they are then (the tests start localstripe on a
    free port and point the settings at it after start-up), and the admin's pages allowed their
    own scripts without a nonce (``ADMIN_SCRIPTS``)."""

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
