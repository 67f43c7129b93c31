"""Two-step log-in: the security page, setting up the authenticator app, turning it off."""

from base64 import b32encode
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors, services
from accounts.admin_site import AFTER_TWO_FACTOR_KEY
from accounts.forms import (
    AuthenticatorCodeForm,
    EnrolmentCodeForm,
    TwoFactorCodeForm,
)
from accounts.http import CustomerRequest
from accounts.reauth import reauth_required
from boomcard.qr import qr_svg_draw


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
