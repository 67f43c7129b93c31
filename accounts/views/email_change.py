"""Changing the email: the form (after "confirm it's you") and the link sent to the new address."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView

from accounts.email_change import email_change_confirm, email_change_request
from accounts.reauth import reauth_required


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("New email"))


@method_decorator(reauth_required, name="dispatch")
class EmailChangeView(FormView[EmailChangeForm]):
    template_name = "accounts/email_change.html"
    form_class = EmailChangeForm
    success_url = reverse_lazy("accounts:preferences")

    def form_valid(self, form: EmailChangeForm) -> HttpResponse:
        try:
            user = email_change_request(user=self.request.user, email=form.cleaned_data["email"])  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error("email", error)
            return self.form_invalid(form)
        messages.info(
            self.request,
            _("We have sent a link to %(email)s. Your email changes when you follow it (within 24 hours).")
            % {"email": user.email_pending},
        )
        return super().form_valid(form)


def email_confirm(request: HttpRequest) -> HttpResponse:
    """The link in the email: confirm the new address (whoever is logged in on this browser)."""
    try:
        user = email_change_confirm(token=request.GET.get("token", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your email is now %(email)s.") % {"email": user.email})
    return redirect("accounts:preferences" if request.user.is_authenticated else "accounts:login")
