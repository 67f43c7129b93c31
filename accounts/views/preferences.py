"""The customer's settings: language and time zone (and the language switch in the menu)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import UpdateView
from django.views.i18n import set_language

from accounts import services
from accounts.forms import (
    PreferencesForm,
)
from accounts.models import User


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language, and for a logged-in customer the choice is saved to their account."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        services.user_language_set(user=request.user, language=language)
    return response


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
