from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import signals
        from accounts.middleware import session_times_start
        from accounts.reauth import reauth_on_login

        user_logged_in.connect(session_times_start, dispatch_uid="accounts.session_times_start")
        user_logged_in.connect(reauth_on_login, dispatch_uid="accounts.reauth_on_login")
        signals.connect_signals()


class AdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin``, with ``admin.site`` (where every app registers its models) a
    ``StaffAdminSite`` (accounts.admin_site), which asks staff for their second step."""

    default = False  # "accounts" in INSTALLED_APPS means AccountsConfig
    default_site = "accounts.admin_site.StaffAdminSite"
