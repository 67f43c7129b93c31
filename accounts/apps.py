from typing import Any

from auditlog import apps as auditlog_apps  # type: ignore[import-untyped]
from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_otp.plugins.otp_static import apps as static_apps
from django_otp.plugins.otp_totp import apps as totp_apps


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


# --- Third-party apps, named in the staff member's language -----------------------------------
# Their AppConfigs, subclassed for a translated name (INSTALLED_APPS lists these). django-otp's
# models name themselves and their fields in plain English, outside any catalogue: ``ready`` gives
# the admin translated labels. Only the labels Django shows are set, never ``original_attrs`` or a
# field's ``_verbose_name``, which migrations read: no migration changes.


def _label(model: type[Any], *, name: Any, plural: Any, fields: dict[str, Any]) -> None:
    model._meta.verbose_name = name
    model._meta.verbose_name_plural = plural
    with translation.override(None):  # each help text's English, as django-otp wrote it
        help_texts = {str(text): text for text in OTP_HELP}
    for field_name, label in fields.items():
        field = model._meta.get_field(field_name)
        field.verbose_name = label
        # The same English as django-otp's (migrations compare it): only the Chinese is new.
        if field.help_text in help_texts:
            field.help_text = help_texts[field.help_text]


OTP_HELP = (
    _("A hex-encoded secret key of up to 40 bytes."),
    _("A timestamp of the last failed verification attempt. Null if last attempt succeeded."),
    _("Is this device ready for use?"),
    _("Number of successive failed attempts."),
    _("The Unix time at which to begin counting steps."),
    _("The date and time when this device was initially created in the system."),
    _("The human-readable name of this device."),
    _("The most recent date and time this device was used."),
    _("The number of digits to expect in a token."),
    _("The number of time steps in the past or future to allow."),
    _("The number of time steps the prover is known to deviate from our clock."),
    _("The time step in seconds."),
    _("The user that this device belongs to."),
    _("The t value of the latest verified token. The next token must be at a higher time step."),
)


_DEVICE_FIELDS = {
    "user": _("account"),
    "name": _("name"),
    "confirmed": _("set up"),
    "created_at": _("added at"),
    "last_used_at": _("last used at"),
    "throttling_failure_timestamp": _("last wrong code at"),
    "throttling_failure_count": _("wrong codes in a row"),
}


class AxesConfig(axes_apps.AppConfig):
    verbose_name = _("Log-in failures and lockouts")


class AuditlogConfig(auditlog_apps.AuditlogConfig):
    verbose_name = _("Audit trail")


class TOTPConfig(totp_apps.DefaultConfig):
    verbose_name = _("Authenticator apps")

    def ready(self) -> None:
        super().ready()
        from django_otp.plugins.otp_totp.models import TOTPDevice

        fields = {
            **_DEVICE_FIELDS,
            "key": _("secret key"),
            "step": _("time step (seconds)"),
            "t0": _("start time (Unix)"),
            "digits": _("digits"),
            "tolerance": _("tolerance (steps)"),
            "drift": _("drift (steps)"),
            "last_t": _("last time step used"),
        }
        _label(TOTPDevice, name=_("authenticator app"), plural=_("authenticator apps"), fields=fields)


class StaticConfig(static_apps.DefaultConfig):
    verbose_name = _("Backup codes")

    def ready(self) -> None:
        super().ready()
        from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

        _label(StaticDevice, name=_("backup code list"), plural=_("backup code lists"), fields=_DEVICE_FIELDS)
        _label(
            StaticToken,
            name=_("backup code"),
            plural=_("backup codes"),
            fields={"device": _("backup code list"), "token": pgettext_lazy("backup code", "code")},
        )
