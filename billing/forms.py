from typing import Any

from django import forms
from django.core.validators import StepValueValidator
from django.utils.translation import gettext_lazy as _

from plans.models import Plan
from plans.pricing import FlexibleChoice


class RenewForm(forms.Form):
    """What the customer picked on the renewal page: a plan code, and amounts for a flexible plan.
    The price is never posted: the server looks it up."""

    plan = forms.SlugField(max_length=40)
    data_gb = forms.IntegerField(label=_("Data (GB)"), required=False, min_value=0, max_value=10_000)
    # The step (100) is checked in clean_minutes, once the range is: Django's own step check
    # (``step_size``) overflows on a number of 309 digits or more, a server error.
    minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=0, max_value=100_000)

    def clean_minutes(self) -> int | None:
        minutes: int | None = self.cleaned_data["minutes"]
        if minutes is not None:
            StepValueValidator(100)(minutes)  # in range by now: no overflow
        return minutes

    def clean_plan(self) -> Plan:
        plan = Plan.objects.filter(code=self.cleaned_data["plan"], is_active=True).first()
        if plan is None:
            raise forms.ValidationError(_("This plan is not on sale."), code="unknown_plan")
        return plan

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        plan = cleaned.get("plan")
        if isinstance(plan, Plan) and plan.is_flexible:
            if cleaned.get("data_gb") is None:
                self.add_error("data_gb", _("Choose how much data you want."))
            if cleaned.get("minutes") is None:
                self.add_error("minutes", _("Choose how many minutes you want."))
        return cleaned

    def choice(self) -> FlexibleChoice | None:
        plan: Plan = self.cleaned_data["plan"]
        if not plan.is_flexible:
            return None
        return FlexibleChoice(data_gb=self.cleaned_data["data_gb"], minutes=self.cleaned_data["minutes"])


class CardForm(forms.Form):
    """Paying by card: the card itself goes from the page to Stripe, never here."""

    save_card = forms.BooleanField(required=False)


class AutoRenewForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    payment_method = forms.RegexField(regex=r"^pm_[A-Za-z0-9_]{1,250}$", max_length=255, required=False)
