"""The customer's forms in the admin: every kind of account saves, whether or not it has a staff
log-in name.

Django's user forms take the log-in name to be required text (``UsernameField``); ours is
optional and stored as NULL when empty (customers have none, and NULLs do not clash with the
unique constraint), so the forms here read an empty name as None and check a given one against
every other account, whatever its case.
"""

from __future__ import annotations

import unicodedata
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.phones import parse_phone


class StaffNameField(forms.CharField):
    """A staff log-in name: optional, None when left empty, NFKC-normalised like Django's."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(required=False, empty_value=None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        if not text:
            return None
        if self.max_length is not None and len(text) > self.max_length:
            return str(text)  # the length check says so; normalising first is slow on long text
        return unicodedata.normalize("NFKC", text)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "autocapitalize": "none", "autocomplete": "off"}


def staff_name_clean(name: str | None, *, instance: User) -> str | None:
    """A free staff name (any case), or None. A name that reads as an email or a phone number
    would never be looked up as a staff name at log-in (accounts.backends), so it is refused."""
    if name is None:
        return None
    if "@" in name or parse_phone(name) is not None:
        raise ValidationError(
            _("A staff log-in name cannot be an email or a phone number: log-in reads those as such."),
            code="not_a_name",
        )
    if User.objects.filter(username__iexact=name).exclude(pk=instance.pk).exists():
        raise ValidationError(_("Another account already has this staff log-in name."), code="taken")
    return name


def email_clean(email: str, *, instance: User) -> str:
    """An address no other account has, whatever its case (the database holds the same rule)."""
    if email and User.objects.filter(email__iexact=email).exclude(pk=instance.pk).exists():
        raise ValidationError(_("Another account already has this email."), code="email_taken")
    return email


class CustomerChangeForm(UserChangeForm[User]):
    """The customer's page: any account saves, customer or staff, with a name or without."""

    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": StaffNameField}

    def clean_username(self) -> str | None:
        return staff_name_clean(self.cleaned_data.get("username"), instance=self.instance)

    def clean_email(self) -> str:
        return email_clean(self.cleaned_data.get("email") or "", instance=self.instance)

    def clean_time_zone(self) -> str:
        zone = (self.cleaned_data.get("time_zone") or "").strip()
        if zone not in zoneinfo.available_timezones():
            raise ValidationError(_("Not a time zone: write it as Asia/Shanghai or Europe/London."), code="zone")
        return zone


class CustomerCreationForm(AdminUserCreationForm):
    """A new account from the admin: a number, and a staff log-in name only for staff."""

    class Meta:
        model = User
        fields = ("phone", "username")
        field_classes = {"username": StaffNameField}

    def clean_username(self) -> str | None:  # type: ignore[override]  # None: no staff name
        return staff_name_clean(self.cleaned_data.get("username"), instance=self.instance)
