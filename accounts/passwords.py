"""Setting a new password: changed by the logged-in customer (after confirming it's them), or
reset with a code sent to the number. Each writes its security notice in the same transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import FormView

from accounts.forms import PasswordChangeForm
from accounts.models import Notice, User
from accounts.reauth import reauth_required
from accounts.security_notices import security_notice_create


def password_change(*, user: User, password: str) -> User:
    """Set ``password`` (checked by the password validators) and tell the customer."""
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        security_notice_create(user=user, kind=Notice.Kind.PASSWORD_CHANGED)
    return user


@method_decorator(reauth_required, name="dispatch")
class PasswordChangeView(LoginRequiredMixin, FormView[PasswordChangeForm]):
    """A new password, twice. The current one is not asked here: "confirm it's you" asked for it
    (or for the authenticator's code) at most ten minutes ago."""

    template_name = "accounts/password_change.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:preferences")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user = password_change(user=self.request.user, password=form.cleaned_data["new_password1"])  # type: ignore[arg-type]
        # This session stays logged in; the customer's other sessions end.
        update_session_auth_hash(self.request, user)
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)
