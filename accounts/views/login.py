"""Logging in (the password, then the code from the authenticator app when two-step log-in is on)
and out."""

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView
from django_otp import login as otp_login

from accounts import selectors, services
from accounts.forms import (
    LoginForm,
    TwoFactorCodeForm,
)
from accounts.lockout import login_rate_limit
from accounts.models import User
from accounts.registration import registration_resume
from accounts.views.registration import VERIFY_REGISTRATION_KEY
from boomcard.ratelimit import client_address, rate_limit_check

# Between the right password and the right code from the authenticator app.
TWO_FACTOR_LOGIN_KEY = "boom_two_factor_login"
TWO_FACTOR_LOGIN_SECONDS = 5 * 60
TWO_FACTOR_LOGIN_TRIES = 5


class LoginView(auth_views.LoginView):
    """The password step. With two-step log-in on, the right password does not log in yet: it
    leads to the code step (``LoginCodeView``)."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Staff names and customers' numbers count against caps of their own (accounts.lockout).
        login = str(request.POST.get("username", ""))
        rate_limit_check(name=login_rate_limit(login=login), key=client_address(request))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not selectors.two_factor_enabled(user=user):
            return super().form_valid(form)
        self.request.session[TWO_FACTOR_LOGIN_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "since": time.time(),
            "tries": 0,
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_code")

    def form_invalid(self, form: Any) -> HttpResponse:
        user = getattr(form, "unverified_user", None)
        if user is not None:
            # Right password, number never verified: finish the registration instead.
            registration, error = registration_resume(user=user, client_address=client_address(self.request))
            if error is not None:
                messages.info(self.request, " ".join(error.messages))
            self.request.session[VERIFY_REGISTRATION_KEY] = registration.pk
            messages.info(self.request, _("Your number is not verified yet. Enter the code we sent you."))
            return redirect("accounts:verify")
        return super().form_invalid(form)


@method_decorator([sensitive_post_parameters("code"), never_cache], name="dispatch")
class LoginCodeView(FormView[TwoFactorCodeForm]):
    """The second step: a code from the authenticator app, or a recovery code. The customer is
    logged in (a new session key) only when it is right. ``TWO_FACTOR_LOGIN_TRIES`` wrong codes,
    or ``TWO_FACTOR_LOGIN_SECONDS`` without the right one, and it is back to the password."""

    template_name = "accounts/login_code.html"
    form_class = TwoFactorCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        pending: dict[str, Any] | None = request.session.get(TWO_FACTOR_LOGIN_KEY)
        if pending is None:
            return redirect("accounts:login")
        user = None
        if time.time() - pending["since"] <= TWO_FACTOR_LOGIN_SECONDS:
            user = User.objects.filter(pk=pending["user"], is_active=True).first()
        if user is None:
            del request.session[TWO_FACTOR_LOGIN_KEY]
            messages.info(request, _("Log in again: the code was not entered in time."))
            return redirect("accounts:login")
        self.pending = pending
        self.pending_user = user
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rate_limit_check(name=login_rate_limit(user=self.pending_user), key=client_address(request))
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: TwoFactorCodeForm) -> HttpResponse:
        session = self.request.session
        try:
            device = services.two_factor_verify(user=self.pending_user, code=form.cleaned_data["code"])
        except ValidationError as error:
            if error.code == "wrong":
                tries = self.pending["tries"] + 1
                left = TWO_FACTOR_LOGIN_TRIES - tries
                if left <= 0:
                    del session[TWO_FACTOR_LOGIN_KEY]
                    messages.error(self.request, _("Too many wrong codes. Log in again."))
                    return redirect("accounts:login")
                session[TWO_FACTOR_LOGIN_KEY] = {**self.pending, "tries": tries}
                error = ValidationError(
                    ngettext(
                        "That code is not right. %(left)d try left.",
                        "That code is not right. %(left)d tries left.",
                        left,
                    )
                    % {"left": left},
                    code="wrong",
                )
            form.add_error("code", error)
            return self.form_invalid(form)
        del session[TWO_FACTOR_LOGIN_KEY]
        login(self.request, self.pending_user, backend=self.pending["backend"])
        otp_login(self.request, device)
        return HttpResponseRedirect(self.pending["next"])


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Added after the session ends, so the message travels in the new one to the log-in page.
        messages.success(request, _("You are logged out."))
        # The browser forgets what it kept of the customer: the offline copy of their balances
        # (the service worker's caches, and the worker itself) and the HTTP cache.
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response
