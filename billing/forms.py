from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from boomcard.formats import EXPONENT
from plans.models import Plan
from plans.pricing import FlexibleChoice


class RenewForm(forms.Form):
    """What the customer picked on the renewal page: a plan code, and amounts for a flexible plan.
    The price is never posted: the server looks it up. The amounts are checked against the
    flexible plan's own bounds, with messages that name them."""

    # What the flexible plan's form starts with.
    DEFAULT_DATA_GB = 20
    DEFAULT_MINUTES = 200
    MINUTES_STEP = 100

    plan = forms.SlugField(max_length=40)
    # No min_value/max_value here: the bounds are the plan's, checked in clean_<field> once the
    # plan is known (it is cleaned first), and the step is checked with plain integers (Django's
    # own step check overflows on a number of 309 digits or more, a server error).
    data_gb = forms.IntegerField(
        label=_("Data (GB)"),
        required=False,
        error_messages={"invalid": _("Enter the data as a whole number of GB.")},
    )
    minutes = forms.IntegerField(
        label=_("Minutes"),
        required=False,
        error_messages={"invalid": _("Enter the minutes as a whole number.")},
    )

    def __init__(self, *args: Any, offered: Plan | None = None, **kwargs: Any) -> None:
        """``offered``: the plan on sale the page already read (the flexible offer it prices), which
        a posted code naming it then takes without reading it again."""
        super().__init__(*args, **kwargs)
        self.offered = offered

    def _flexible_plan(self) -> Plan | None:
        plan = self.cleaned_data.get("plan")
        return plan if isinstance(plan, Plan) and plan.is_flexible else None

    def clean_data_gb(self) -> int | None:
        data_gb: int | None = self.cleaned_data["data_gb"]
        plan = self._flexible_plan()
        if data_gb is not None and plan is not None:
            low, high = plan.flex_data_gb_min, plan.flex_data_gb_max
            if not low <= data_gb <= high:
                raise forms.ValidationError(
                    _("Choose between %(min)s and %(max)s GB."),
                    code="data_out_of_range",
                    params={"min": low, "max": high},
                )
        return data_gb

    def clean_minutes(self) -> int | None:
        minutes: int | None = self.cleaned_data["minutes"]
        plan = self._flexible_plan()
        if minutes is not None and plan is not None:
            low, high = plan.flex_minutes_min, plan.flex_minutes_max
            if not low <= minutes <= high:
                raise forms.ValidationError(
                    _("Choose between %(min)s and %(max)s minutes."),
                    code="minutes_out_of_range",
                    params={"min": low, "max": high},
                )
            if minutes % self.MINUTES_STEP:
                raise forms.ValidationError(
                    _("Enter a whole multiple of %(step)s minutes."),
                    code="minutes_step",
                    params={"step": self.MINUTES_STEP},
                )
        return minutes

    def clean_plan(self) -> Plan:
        code = self.cleaned_data["plan"]
        if self.offered is not None and self.offered.code == code and self.offered.is_active:
            return self.offered
        plan = Plan.objects.filter(code=code, is_active=True).first()
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


class NextPlanForm(forms.Form):
    """The plan for the next automatic renewal: a plan code (the service checks it is on sale)."""

    plan = forms.SlugField(max_length=40, error_messages={"invalid": _("This plan is not on sale.")})


class SpendingCapForm(forms.Form):
    """The monthly limit on automatic charges, as the customer types it (100, 99.50) in their
    currency; empty removes it."""

    cap = forms.CharField(label=_("Monthly limit"), required=False, max_length=12, strip=True)

    def clean_cap(self) -> Decimal | None:
        text = self.cleaned_data["cap"].replace(",", "")
        if not text:
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise forms.ValidationError(_("Enter the limit as an amount, like 100 or 99.50."), code="invalid")
        if amount <= 0:
            raise forms.ValidationError(_("Enter an amount above zero."), code="cap_not_positive")
        if amount >= 10_000_000:
            raise forms.ValidationError(_("Enter a smaller amount."), code="cap_too_large")
        return amount

    def cap_minor(self, currency: str) -> int | None:
        """The limit in minor units of ``currency`` (fen, cents)."""
        amount: Decimal | None = self.cleaned_data["cap"]
        return None if amount is None else int(amount * 10 ** EXPONENT.get(currency, 2))
