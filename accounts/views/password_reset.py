"""Resetting a forgotten password: the number, then the code sent to it and the new password."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.generic import FormView
from phonenumber_field.phonenumber import PhoneNumber

from accounts.forms import (
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
)
from accounts.password_reset import password_reset_confirm, password_reset_request
from boomcard.ratelimit import client_address

# Between "we sent a code" and "the code was right".
RESET_PHONE_KEY = "boom_reset_phone"


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
