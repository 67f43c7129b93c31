"""The forms to write to support: logged in, logged out, and the SMS code of the phone path."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import line_hooks
from accounts.forms import CodeField, MobileNumberField
from accounts.line_hooks import LineChoice
from accounts.models import SupportRequest, User


class _SupportMessageForm(forms.Form):
    topic = forms.ChoiceField(
        label=_("Topic"), choices=[("", _("Choose what it is about")), *SupportRequest.Topic.choices]
    )
    message = forms.CharField(
        label=_("Message"),
        min_length=10,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Tell us what happened, and on which line."),
    )
    # Made when the form is shown and posted back with it: a retry of the same form finds the
    # request it already made (accounts.support).
    token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())


class SupportForm(_SupportMessageForm):
    """Logged in: the customer is who to answer; a line of theirs may be named."""

    line = forms.ChoiceField(label=_("Line (optional)"), required=False)
    field_order = ["topic", "line", "message"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the customer's own lines can be picked (the plans app lists them: line_hooks).
        self.lines = {str(line.pk): line for line in line_hooks.customer_lines(user.pk)}
        self.fields["line"].choices = [  # type: ignore[attr-defined]
            ("", _("No particular line")),
            *((pk, line.label) for pk, line in self.lines.items()),
        ]

    def clean_line(self) -> LineChoice | None:
        return self.lines.get(self.cleaned_data["line"])


class SupportGuestForm(_SupportMessageForm):
    """Logged out: an email to reply to, or a number that a code is sent to and then checked."""

    EMAIL = "email"
    PHONE = "phone"

    reply_by = forms.ChoiceField(
        label=_("How should we answer?"),
        choices=[(EMAIL, _("By email")), (PHONE, _("On my mobile number (we send a code to check it)"))],
        initial=EMAIL,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(label=_("Email to reply to"), required=False, max_length=254)
    phone = MobileNumberField(required=False)
    field_order = ["topic", "message", "reply_by", "email", "phone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "placeholder": "name@example.com"})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        reply_by = cleaned.get("reply_by")
        if reply_by == self.EMAIL and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", ValidationError(_("Enter the email we should reply to."), code="required"))
        if reply_by == self.PHONE and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", ValidationError(_("Enter the mobile number to send the code to."), code="required"))
        return cleaned


class SupportCodeForm(forms.Form):
    code = CodeField()


class SupportReplyForm(forms.Form):
    """The customer's reply in a request's thread."""

    body = forms.CharField(
        label=_("Your reply"), min_length=2, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    # Made when the form is shown: the same reply posted twice is written once (accounts.support_desk).
    token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4())
