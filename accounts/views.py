"""Customer pages: register, verify, log in and out, passwords, preferences, adding a line.

Views parse and call a service; the service owns the write and its rules.
"""

import time
from base64 import b32encode
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView, UpdateView
from django.views.i18n import set_language
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from phonenumber_field.phonenumber import PhoneNumber

from accounts import selectors, services
from accounts.forms import (
    AuthenticatorCodeForm,
    EnrolmentCodeForm,
    LineAddConfirmForm,
    LineAddForm,
    LoginForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    PreferencesForm,
    TwoFactorCodeForm,
)
from accounts.models import User
from accounts.notice_text import notice_text
from accounts.page_cache import customer_cached
from accounts.password_reset import password_reset_confirm, password_reset_request
from accounts.reauth import reauth_required
from accounts.registration import registration_resume
from accounts.registration_views import VERIFY_REGISTRATION_KEY
from boomcard.admin_site import AFTER_TWO_FACTOR_KEY
from boomcard.http import CustomerRequest
from boomcard.qr import qr_svg_draw
from boomcard.ratelimit import client_address, rate_limited
from plans.selectors import line_summaries

# Session keys for the steps between "we sent a code" and "the code was right".
RESET_PHONE_KEY = "boom_reset_phone"
ADD_LINE_KEY = "boom_add_line"
# Between the right password and the right code from the authenticator app.
TWO_FACTOR_LOGIN_KEY = "boom_two_factor_login"
TWO_FACTOR_LOGIN_SECONDS = 5 * 60
TWO_FACTOR_LOGIN_TRIES = 5


def lockout(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    """What django-axes shows once a number or an address has too many failed log-ins."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/lockout.html", {"lockout_minutes": minutes}, status=429)


@login_required
def home(request: CustomerRequest) -> HttpResponse:
    user = request.user

    def cards() -> str:
        return render_to_string("accounts/line_cards.html", {"summaries": line_summaries(user=user)})

    # Rendered in the customer's language and time zone, which are part of the name.
    name = f"home-cards:{translation.get_language()}:{timezone.get_current_timezone_name()}"
    response = render(request, "accounts/home.html", {"cards": customer_cached(user.pk, name, cards)})
    # The service worker keeps this page, and only this one, to show offline (static/js/sw.js).
    response["Boom-Offline"] = "keep"
    return response


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language, and for a logged-in customer the choice is saved to their account."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        services.user_language_set(user=request.user, language=language)
    return response


class LoginView(auth_views.LoginView):
    """The password step. With two-step log-in on, the right password does not log in yet: it
    leads to the code step (``LoginCodeView``)."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    @method_decorator(rate_limited("login"))
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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

    @method_decorator(rate_limited("login"))
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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


class PasswordResetRequestView(FormView[PasswordResetRequestForm]):
    template_name = "accounts/password_reset.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_confirm")

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        phone: PhoneNumber = form.cleaned_data["phone"]
        address = client_address(self.request)
        try:
            password_reset_request(phone=phone, language=translation.get_language() or "", client_address=address)
        except ValidationError as error:
            form.add_error("phone", error)
            return self.form_invalid(form)
        self.request.session[RESET_PHONE_KEY] = str(phone.as_e164)
        messages.info(
            self.request,
            _("If %(phone)s has a Boom account, a 6-digit code is on its way to it.") % {"phone": phone},
        )
        return super().form_valid(form)


class PasswordResetConfirmView(FormView[PasswordResetConfirmForm]):
    template_name = "accounts/password_reset_confirm.html"
    form_class = PasswordResetConfirmForm
    success_url = reverse_lazy("accounts:login")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        phone = request.session.get(RESET_PHONE_KEY)
        if not phone:
            return redirect("accounts:password_reset")
        self.phone = PhoneNumber.from_string(phone)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(phone=self.phone, **kwargs)

    def form_valid(self, form: PasswordResetConfirmForm) -> HttpResponse:
        try:
            password_reset_confirm(
                phone=self.phone, code=form.cleaned_data["code"], password=form.cleaned_data["password1"]
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        del self.request.session[RESET_PHONE_KEY]
        messages.success(self.request, _("Your password is changed. Log in with the new one."))
        return super().form_valid(form)


class PreferencesView(LoginRequiredMixin, UpdateView[User, PreferencesForm]):
    template_name = "accounts/preferences.html"
    form_class = PreferencesForm
    success_url = reverse_lazy("accounts:preferences")

    def get_object(self, queryset: Any = None) -> User:
        return self.request.user  # type: ignore[return-value]

    def form_valid(self, form: PreferencesForm) -> HttpResponse:
        try:
            services.user_preferences_update(
                user=self.get_object(),
                language=form.cleaned_data["language"],
                time_zone=form.cleaned_data["time_zone"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        translation.activate(form.cleaned_data["language"])
        messages.success(self.request, _("Your settings are saved."))
        response = HttpResponseRedirect(str(self.success_url))
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            form.cleaned_data["language"],
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            secure=settings.LANGUAGE_COOKIE_SECURE,
        )
        return response


# --- Two-step log-in: the security page ------------------------------------------------------


@login_required
def security(request: CustomerRequest) -> HttpResponse:
    """Two-step log-in: on or off, recovery codes left; turn it on, or off with a code."""
    status = selectors.two_factor_status(user=request.user)
    enrolment_form = EnrolmentCodeForm() if request.user.is_staff else None
    return render(
        request,
        "accounts/security.html",
        {"status": status, "form": TwoFactorCodeForm(), "enrolment_form": enrolment_form},
    )


@reauth_required(return_to="accounts:security")
@require_POST
def two_factor_start(request: CustomerRequest) -> HttpResponse:
    """Staff give their enrolment code here; the service refuses them without a live one."""
    try:
        services.two_factor_setup_start(
            user=request.user, enrolment_code=str(request.POST.get("enrolment_code", ""))[:40]
        )
    except ValidationError as error:
        (messages.error if error.code == "enrolment_code" else messages.info)(request, " ".join(error.messages))
        return redirect("accounts:security")
    return redirect("accounts:two_factor_setup")


def _secret_text(device: TOTPDevice) -> str:
    """The key as people type it into an app: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@method_decorator(
    [sensitive_post_parameters("code"), never_cache, reauth_required(return_to="accounts:security")], name="dispatch"
)
class TwoFactorSetupView(LoginRequiredMixin, FormView[AuthenticatorCodeForm]):
    """Scan the QR code (or type the key), then confirm with the first code; the answer shows
    the recovery codes, once."""

    template_name = "accounts/two_factor_setup.html"
    form_class = AuthenticatorCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        device = selectors.two_factor_device_to_confirm(user=request.user)
        if device is None:
            return redirect("accounts:security")
        self.device = device
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            qr_svg=qr_svg_draw(self.device.config_url), secret=_secret_text(self.device), **kwargs
        )

    def form_valid(self, form: AuthenticatorCodeForm) -> HttpResponse:
        try:
            device, codes = services.two_factor_setup_confirm(
                user=self.request.user,  # type: ignore[arg-type]
                code=form.cleaned_data["code"],
            )
        except ValidationError as error:
            if error.code == "no_device":
                return redirect("accounts:security")
            if error.code == "enrolment_code":
                messages.error(self.request, " ".join(error.messages))
                return redirect("accounts:security")
            form.add_error("code", error)
            return self.form_invalid(form)
        # The code just proved the app: this session counts as passed the second step, under a
        # new key, as at a log-in.
        self.request.session.cycle_key()
        otp_login(self.request, device)
        next_url = self.request.session.pop(AFTER_TWO_FACTOR_KEY, "")
        response = render(self.request, "accounts/recovery_codes.html", {"codes": codes, "next_url": next_url})
        add_never_cache_headers(response)
        return response


# No "confirm it's you" first: the form's own code from the authenticator is that confirmation.
@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class TwoFactorDisableView(LoginRequiredMixin, FormView[TwoFactorCodeForm]):
    template_name = "accounts/security.html"
    form_class = TwoFactorCodeForm
    http_method_names = ["post"]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        status = selectors.two_factor_status(user=self.request.user)  # type: ignore[arg-type]
        return super().get_context_data(status=status, **kwargs)

    def form_valid(self, form: TwoFactorCodeForm) -> HttpResponse:
        try:
            services.two_factor_disable(user=self.request.user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        messages.success(self.request, _("Two-step log-in is off."))
        return redirect("accounts:security")


class LineAddView(LoginRequiredMixin, FormView[LineAddForm]):
    template_name = "accounts/line_add.html"
    form_class = LineAddForm
    success_url = reverse_lazy("accounts:line_add_confirm")

    def form_valid(self, form: LineAddForm) -> HttpResponse:
        msisdn: PhoneNumber = form.cleaned_data["msisdn"]
        try:
            services.line_claim_start(
                user=self.request.user,  # type: ignore[arg-type]
                msisdn=msisdn,
                client_address=client_address(self.request),
            )
        except ValidationError as error:
            form.add_error("msisdn", error)
            return self.form_invalid(form)
        self.request.session[ADD_LINE_KEY] = str(msisdn.as_e164)
        messages.info(self.request, _("We have sent a 6-digit code to %(phone)s.") % {"phone": msisdn})
        return super().form_valid(form)


class LineAddConfirmView(LoginRequiredMixin, FormView[LineAddConfirmForm]):
    template_name = "accounts/line_add_confirm.html"
    form_class = LineAddConfirmForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        msisdn = request.session.get(ADD_LINE_KEY)
        if not msisdn:
            return redirect("accounts:line_add")
        self.msisdn = PhoneNumber.from_string(msisdn)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(msisdn=self.msisdn, **kwargs)

    def form_valid(self, form: LineAddConfirmForm) -> HttpResponse:
        try:
            line = services.line_claim_confirm(
                user=self.request.user,  # type: ignore[arg-type]
                msisdn=self.msisdn,
                code=form.cleaned_data["code"],
                nickname=form.cleaned_data["nickname"],
            )
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        del self.request.session[ADD_LINE_KEY]
        messages.success(self.request, _("%(line)s is now on your account.") % {"line": line})
        return redirect("accounts:home")


@login_required
def notices(request: CustomerRequest) -> HttpResponse:
    """The customer's notices, newest first; opening the page marks them read."""
    page = Paginator(request.user.notices.order_by("-created_at", "-id"), 20).get_page(request.GET.get("page"))
    items = [(notice, notice_text(notice)) for notice in page.object_list]
    unread = [notice.pk for notice in page.object_list if notice.read_at is None]
    if unread:
        services.notice_mark_read(user=request.user, notice_ids=unread)
        # The bell on this page counts what is still unread now that these are read.
        request.user.unread_notice_count = selectors.unread_notice_count(user=request.user)
    return render(request, "accounts/notices.html", {"page": page, "items": items, "unread": set(unread)})


@login_required
@require_POST
def notices_read(request: CustomerRequest) -> HttpResponse:
    services.notice_mark_read(user=request.user)
    return redirect("accounts:notices")
