"""The Django admin, for staff who logged in with their second step.

``accounts.apps.AdminConfig`` stands for ``django.contrib.admin`` in INSTALLED_APPS, so that
``admin.site``, where every app registers its models, is a ``StaffAdminSite``.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminSite

from accounts.selectors import two_factor_enabled

# Where the security pages send a staff member once their authenticator is set up.
AFTER_TWO_FACTOR_KEY = "boom_after_two_factor"


class StaffAdminSite(OTPAdminSite):
    """django-otp's admin site: only staff whose session passed the second step get in.

    Its log-in page is the customers' one (number or staff name, password, then the code from
    the authenticator app), not a form of its own. A staff member without an authenticator is
    sent to set one up first, which needs a one-time enrolment code besides the password
    (``accounts.enrolment``), and comes back here after.
    """

    site_header = "Boom"
    site_title = "Boom admin"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = reverse("admin:index", current_app=self.name)
        if self.has_permission(request):
            return redirect(next_url)
        user = request.user
        login_url = reverse("accounts:login")
        if not user.is_authenticated:
            return redirect_to_login(next_url, login_url)
        if not (user.is_active and user.is_staff):
            messages.error(request, _("This account cannot use the admin."))
            return redirect(settings.LOGIN_REDIRECT_URL)
        if not two_factor_enabled(user=user):
            request.session[AFTER_TWO_FACTOR_KEY] = next_url
            messages.info(
                request,
                _(
                    "Staff need two-step log-in to use the admin. Set it up with an authenticator app and "
                    "the enrolment code another staff member made for you to carry on."
                ),
            )
            return redirect("accounts:security")
        # An authenticator is set up, but this session logged in without it (before it was
        # set up): log in again, with the code.
        logout(request)
        messages.info(request, _("Log in again with the code from your authenticator app to use the admin."))
        return redirect_to_login(next_url, login_url)
