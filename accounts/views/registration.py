"""The register and verify pages (accounts.registration has the rules).

The session holds the attempt being verified (``VERIFY_REGISTRATION_KEY``), so each browser
verifies its own attempt, with its own code and data. The pages answer the same for a number
or an email that already has an account as for a new one.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from accounts import registration as registrations
from accounts.forms import RegisterForm, VerifyCodeForm
from accounts.models import Registration
from boomcard.ratelimit import client_address

VERIFY_REGISTRATION_KEY = "boom_verify_registration"


def registration_to_verify(request: HttpRequest) -> Registration | None:
    registration_id = request.session.get(VERIFY_REGISTRATION_KEY)
    if not isinstance(registration_id, int):
        return None
    return registrations.registration_pending(registration_id=registration_id)


@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class RegisterView(FormView[RegisterForm]):
    template_name = "accounts/register.html"
    form_class = RegisterForm
    success_url = reverse_lazy("accounts:verify")

    def form_valid(self, form: RegisterForm) -> HttpResponse:
        try:
            registration = registrations.registration_start(
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
                language=translation.get_language() or "",
                client_address=client_address(self.request),
            )
        except ValidationError as error:
            form.add_error("phone", error)
            return self.form_invalid(form)
        # The verify page says where the code went; a message too would say it twice.
        self.request.session[VERIFY_REGISTRATION_KEY] = registration.pk
        return super().form_valid(form)


@method_decorator(sensitive_post_parameters("code"), name="dispatch")
class VerifyPhoneView(FormView[VerifyCodeForm]):
    template_name = "accounts/verify.html"
    form_class = VerifyCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        registration = registration_to_verify(request)
        if registration is None:
            return redirect("accounts:register")
        self.registration = registration
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(phone=self.registration.phone, **kwargs)

    def form_valid(self, form: VerifyCodeForm) -> HttpResponse:
        try:
            user = registrations.registration_complete(registration=self.registration, code=form.cleaned_data["code"])
        except ValidationError as error:
            form.add_error("code", error)
            return self.form_invalid(form)
        del self.request.session[VERIFY_REGISTRATION_KEY]
        login(self.request, user, backend="accounts.backends.PhoneOrEmailBackend")
        messages.success(self.request, _("Your number is verified. Welcome to Boom!"))
        if user.email_pending:
            messages.info(
                self.request,
                _("We sent a link to %(email)s: follow it to get receipts and reminders there.")
                % {"email": user.email_pending},
            )
        elif not user.email:
            messages.info(self.request, _("Add your email in Settings to get receipts and reminders."))
        return redirect(settings.LOGIN_REDIRECT_URL)


@require_POST
def verify_resend(request: HttpRequest) -> HttpResponse:
    registration = registration_to_verify(request)
    if registration is None:
        return redirect("accounts:register")
    try:
        registrations.registration_code_resend(registration=registration, client_address=client_address(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("A new code is on its way."))
    return redirect("accounts:verify")
