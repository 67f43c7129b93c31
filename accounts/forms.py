import functools
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import User
from accounts.phones import is_mobile, parse_phone


class MobileNumberField(forms.CharField):
    """A mobile number in any common writing, cleaned to a PhoneNumber."""

    default_error_messages = {
        "invalid": _("Enter a mobile number, like +86 138 0013 8000 or 13800138000."),
        "not_mobile": _("This is not a mobile number, so it cannot receive our SMS code."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Mobile number"))
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "tel", "inputmode": "tel", "placeholder": "+86 138 0013 8000"})

    def clean(self, value: Any) -> PhoneNumber | None:
        text = super().clean(value)
        if not text:
            return None
        number = parse_phone(text)
        if number is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if not is_mobile(number):
            raise ValidationError(self.error_messages["not_mobile"], code="not_mobile")
        return number


class CodeField(forms.CharField):
    default_error_messages = {"invalid": _("The code is the 6 digits in the SMS.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("SMS code"))
        super().__init__(min_length=6, max_length=6, **kwargs)
        self.widget.attrs.update(
            {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}", "maxlength": "6"}
        )

    def clean(self, value: Any) -> str:
        value = (value or "").strip().replace(" ", "")
        if value and not (value.isascii() and value.isdigit() and len(value) == 6):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return str(super().clean(value))


PASSWORD_HELP = _("At least 8 characters; not a common password, not only digits.")


class NewPasswordMixin(forms.Form):
    """Two password fields, checked against Django's validators (length, common, numeric)."""

    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PASSWORD_HELP,
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def password_user(self) -> User | None:
        return None

    def clean_password2(self) -> str:
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data["password2"]
        if password1 and password1 != password2:
            raise ValidationError(_("The two passwords are not the same."), code="password_mismatch")
        return str(password2)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        password = cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, self.password_user())
            except ValidationError as error:
                self.add_error("password2", error)
        return cleaned_data


class RegisterForm(NewPasswordMixin):
    phone = MobileNumberField()
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        help_text=_("We send receipts and reminders here."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["phone", "email", "password1", "password2"]

    def password_user(self) -> User | None:
        phone = self.cleaned_data.get("phone")
        return User(phone=phone, email=self.cleaned_data.get("email", "")) if phone else None


class VerifyCodeForm(forms.Form):
    code = CodeField()


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("That number (or email) and password do not match an account. Check both and try again."),
        "inactive": _("This account is closed. Please contact support."),
        "unverified": _("Your number is not verified yet. We have sent you a new code."),
    }

    def __init__(self, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Mobile number or email")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "inputmode": "email"})
        self.fields["password"].label = _("Password")
        self.unverified_user: User | None = None

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            # The refusal is about the two fields together, so the error is the form's: each
            # field is marked invalid and points at it (includes/form.html gives it this id).
            for field in self.fields.values():
                field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": "form-errors"})
            raise

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.phone_verified:
            self.unverified_user = user
            raise ValidationError(self.error_messages["unverified"], code="unverified")


class AuthenticatorCodeForm(forms.Form):
    """The first code from the authenticator app, which turns two-step log-in on."""

    code = forms.CharField(
        label=_("6-digit code from the app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]{6,7}"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise ValidationError(_("Enter the 6 digits the app shows for Boom."), code="invalid")
        return code


class EnrolmentCodeForm(forms.Form):
    """Staff set up two-step log-in with the one-time enrolment code another staff member (or
    the server) made for them."""

    enrolment_code = forms.CharField(
        label=_("Enrolment code"),
        max_length=40,
        help_text=_("From another staff member (in the admin) or from the server: it works once, for 24 hours."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class TwoFactorCodeForm(forms.Form):
    """The second step: a code from the authenticator app, or one of the recovery codes."""

    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class PasswordResetRequestForm(forms.Form):
    phone = MobileNumberField()


class PasswordResetConfirmForm(NewPasswordMixin):
    code = CodeField()
    field_order = ["code", "password1", "password2"]


# The zones most of our customers live in, named as they would say them, listed first.
COMMON_TIME_ZONES = {
    "Asia/Shanghai": pgettext_lazy("time zone", "China (Shanghai)"),
    "Asia/Hong_Kong": pgettext_lazy("time zone", "Hong Kong"),
    "Asia/Macau": pgettext_lazy("time zone", "Macau"),
    "Asia/Taipei": pgettext_lazy("time zone", "Taiwan (Taipei)"),
    "Asia/Singapore": pgettext_lazy("time zone", "Singapore"),
    "Asia/Tokyo": pgettext_lazy("time zone", "Japan (Tokyo)"),
    "Asia/Seoul": pgettext_lazy("time zone", "South Korea (Seoul)"),
    "America/Los_Angeles": pgettext_lazy("time zone", "US Pacific (Los Angeles)"),
    "America/New_York": pgettext_lazy("time zone", "US Eastern (New York)"),
    "Europe/London": pgettext_lazy("time zone", "UK (London)"),
    "Australia/Sydney": pgettext_lazy("time zone", "Australia (Sydney)"),
}


class PasswordChangeForm(SetPasswordForm):
    """Django's form, with the help the other password pages give (Django's own list of the
    validators speaks to the customer with "你" in Chinese, where the site says "您")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP


@functools.cache
def _other_time_zones() -> list[tuple[str, str]]:
    # Reading the zone database takes a tenth of a second: once per process is enough.
    return [
        (name, name.replace("_", " "))
        for name in sorted(zoneinfo.available_timezones())
        if "/" in name and name not in COMMON_TIME_ZONES
    ]


def _time_zone_choices() -> list[tuple[Any, Any]]:
    """Two option groups: the common zones with their names in the active language, then the rest."""
    return [
        (_("Common time zones"), list(COMMON_TIME_ZONES.items())),
        (_("All time zones"), _other_time_zones()),
    ]


class PreferencesForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    class Meta:
        model = User
        fields = ["language", "time_zone"]
