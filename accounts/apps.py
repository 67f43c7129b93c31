from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers and lines")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import page_cache
        from accounts.middleware import session_times_start
        from accounts.reauth import reauth_on_login

        user_logged_in.connect(session_times_start, dispatch_uid="accounts.session_times_start")
        user_logged_in.connect(reauth_on_login, dispatch_uid="accounts.reauth_on_login")
        page_cache.connect_signals()
