"""Staff groups, django-axes' log-in records and django-otp's authenticators, as their own admins
show them, with every change and delete staff make there in the audit trail
(boomcard.audit.AuditedAdmin)."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from boomcard.audit import AuditedAdmin

AUDITED: list[tuple[Any, Any]] = [
    (Group, GroupAdmin),
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
    (TOTPDevice, TOTPDeviceAdmin),
    (StaticDevice, StaticDeviceAdmin),
]

# django-otp names its admins' sections in plain English, outside any catalogue.
SECTIONS = {
    "Identity": _("Identity"),
    "Timestamps": _("Dates"),
    "Configuration": _("Settings"),
    "State": _("State"),
    "Throttling": _("Wrong codes"),
}


class TranslatedSections(admin.ModelAdmin[Any]):
    """Section titles in the staff member's language."""

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return [(SECTIONS.get(name, name) if isinstance(name, str) else name, options) for name, options in fieldsets]


@admin.display(description=_("status"))
def _attempt_status(self: AccessAttemptAdmin, attempt: AccessAttempt) -> str:
    return str(AccessAttemptAdmin.status(self, attempt))


@admin.display(description=_("expires at"))
def _attempt_expiration(self: AccessAttemptAdmin, attempt: AccessAttempt) -> Any:
    return AccessAttemptAdmin.expiration(self, attempt)


# Columns axes names by their method's name, and django-otp's search hint, in English.
OTP_SEARCH = {"search_help_text": _("Search by the account's mobile number or email")}
COLUMNS: dict[Any, dict[str, Any]] = {
    AccessAttempt: {"status": _attempt_status, "expiration": _attempt_expiration},
    TOTPDevice: OTP_SEARCH,
    StaticDevice: OTP_SEARCH,
}

for model, base in AUDITED:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    bases = (AuditedAdmin, TranslatedSections, base)
    admin.site.register(model, type(base.__name__, bases, {"__module__": __name__, **COLUMNS.get(model, {})}))
