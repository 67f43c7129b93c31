"""Confirming it's you: sensitive changes (email, password, two-step log-in on or off, saving or
removing a card, auto-renew on) need the password again, or the authenticator's code when
two-step log-in is on, within the last ``REAUTH_SECONDS``.

A log-in counts as such a confirmation (it has just proved the same thing); after that, the
session remembers the time of the last proof, and ``reauth_required`` sends a stale session to
the "confirm it's you" page and back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import selectors
from accounts.forms import TwoFactorCodeForm
from accounts.lockout import login_rate_limit
from accounts.models import User
from boomcard.ratelimit import client_address, rate_limit_check

REAUTH_AT_KEY = "boom_reauth_at"
REAUTH_SECONDS = 10 * 60


def reauth_mark(request: HttpRequest) -> None:
    """Record that the customer has just proved who they are."""
    request.session[REAUTH_AT_KEY] = time.time()


def reauth_fresh(request: HttpRequest) -> bool:
    """Whether the last proof is recent enough for a sensitive change."""
    at = request.session.get(REAUTH_AT_KEY)
    return isinstance(at, int | float) and 0 <= time.time() - at <= REAUTH_SECONDS


def reauth_on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """``user_logged_in``: the password (and code) just typed count as a confirmation."""
    if request is not None and hasattr(request, "session"):
        reauth_mark(request)


def reauth_url(request: HttpRequest, next_url: str | None = None) -> str:
    """The confirm page's address, coming back to ``next_url`` (the current page by default)."""
    return f"{reverse('accounts:reauth')}?{urlencode({'next': next_url or request.get_full_path()})}"


def reauth_refusal(request: HttpRequest, next_url: str | None = None) -> HttpResponse:
    """What a stale session gets: 403 JSON with ``reauth_url`` for a script, else the confirm page."""
    url = reauth_url(request, next_url)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"error": _("Please confirm it's you first."), "reauth_url": url}, status=403)
    return redirect(url)


def reauth_required(view: Callable[..., HttpResponseBase] | None = None, *, return_to: str | None = None) -> Any:
    """For a view that makes a sensitive change: a logged-in customer whose session has no fresh
    confirmation goes to the confirm page and then back. A GET comes back to itself; a POST
    (whose form data cannot follow) comes back to the URL named ``return_to``, the page with
    the form, or to itself when none is given."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not reauth_fresh(request):
                back = reverse(return_to) if return_to and request.method != "GET" else None
                return reauth_refusal(request, back)
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate(view) if view is not None else decorate


class ReauthPasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _safe_next(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return next_url
    return reverse("accounts:preferences")


@never_cache
@sensitive_post_parameters("password", "code")
@login_required
def reauth(request: HttpRequest) -> HttpResponse:
    """The "confirm it's you" page: the password, or the authenticator's code when two-step log-in
    is on; then back to ``next`` (same site only)."""
    from accounts.services import two_factor_verify

    user: User = request.user  # type: ignore[assignment]
    with_code = selectors.two_factor_enabled(user=user)
    form_class: type[forms.Form] = TwoFactorCodeForm if with_code else ReauthPasswordForm
    next_url = _safe_next(request)
    form = form_class(request.POST or None)
    if request.method == "POST":
        rate_limit_check(name=login_rate_limit(user=user), key=client_address(request))
        if form.is_valid():
            if with_code:
                try:
                    two_factor_verify(user=user, code=form.cleaned_data["code"])
                except ValidationError as error:
                    form.add_error("code", error)
            elif not user.check_password(form.cleaned_data["password"]):
                form.add_error("password", _("That password is not right."))
            if form.is_valid():
                reauth_mark(request)
                messages.success(request, _("Thank you. You can make changes for the next 10 minutes."))
                return redirect(next_url)
    return render(request, "accounts/reauth.html", {"form": form, "next_url": next_url, "with_code": with_code})
