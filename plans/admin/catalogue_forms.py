"""The catalogue's admin forms, its guard rails: prices typed in major units beside their currency
(``¥ 59.00``, kept as ``5900``), countries picked from the ISO 3166-1 list by name, and a plan on
sale refused while a currency customers can pick has no price for it."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from boomcard.formats import EXPONENT, SYMBOLS, country_choices, currency_symbol, is_country_code
from plans.models import Plan, Price
from plans.models.catalogue import SaleGaps, unknown_country_codes

# What may lead a typed amount: a currency code, then a sign (after NFKC, "￥" reads as "¥").
_LEADING_CURRENCY = re.compile(r"^(?:CNY|RMB|HKD|USD)?\s*(?:HK\$|US\$|¥|\$)?", re.IGNORECASE)
_AMOUNT = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)$")
# The most a price can be, in minor units: well above any plan, well below the column's limit.
MOST_MINOR = 100_000_000


class MoneyInput(forms.TextInput):
    """A text box for an amount in major units, led by its currency's sign (``¥``, ``HK$``); the
    sign follows the row's currency as staff change it (``static/plans/admin/price_symbol.js``)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "size": 10, "autocomplete": "off", **(attrs or {})})
        self.currency = ""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        box = super().render(name, value, attrs, renderer)
        symbol = currency_symbol(self.currency, unknown="") if self.currency else ""
        return format_html('<span class="money-symbol" data-price-symbol>{}</span>&nbsp;{}', symbol, box)

    class Media:
        js = ["plans/admin/price_symbol.js"]


class MajorUnitsField(forms.Field):
    """An amount typed in major units (``59``, ``59.9``, ``¥59.00``, ``1,059.50``, full-width
    digits too), cleaned to whole minor units (``5900``). Empty is ``0`` when not required."""

    widget = MoneyInput
    default_error_messages = {
        "required": gettext_lazy("Enter the price."),
        "invalid": gettext_lazy("Enter an amount such as 59.00."),
        "negative": gettext_lazy("An amount cannot be negative."),
        "decimals": gettext_lazy("Use at most two decimal places, such as 59.90."),
        "too_large": gettext_lazy("Enter at most %(most)s."),
    }

    def __init__(self, *, exponent: int = 2, **kwargs: Any) -> None:
        self.exponent = exponent
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value == 0 and not self.required:
                return ""
            return f"{Decimal(value).scaleb(-self.exponent):.{self.exponent}f}"
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = _LEADING_CURRENCY.sub("", text).replace(",", "").replace(" ", "")
        if not text:
            return None
        if not _AMOUNT.match(text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if amount < 0:
            raise ValidationError(self.error_messages["negative"], code="negative")
        minor = amount.scaleb(self.exponent)
        if minor != minor.to_integral_value():
            raise ValidationError(self.error_messages["decimals"], code="decimals")
        if minor > MOST_MINOR:
            most = f"{Decimal(MOST_MINOR).scaleb(-self.exponent):,.{self.exponent}f}"
            raise ValidationError(self.error_messages["too_large"], code="too_large", params={"most": most})
        return int(minor)

    def clean(self, value: Any) -> int | None:
        minor = super().clean(value)
        return 0 if minor is None and not self.required else minor

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            new = self.to_python(data)
        except ValidationError:
            return True
        old = self.to_python(initial) if initial not in self.empty_values else None
        if not self.required:
            old, new = old or 0, new or 0
        return old != new


class PriceForm(forms.ModelForm[Price]):
    """One price of a plan: its currency, and the amounts in that currency's major units."""

    amount_minor = MajorUnitsField(label=gettext_lazy("Price"))
    per_gb_minor = MajorUnitsField(
        label=gettext_lazy("Flexible: per GB"), required=False, help_text=gettext_lazy("Flexible plans only.")
    )
    per_100_minutes_minor = MajorUnitsField(
        label=gettext_lazy("Flexible: per 100 minutes"),
        required=False,
        help_text=gettext_lazy("Flexible plans only."),
    )

    class Meta:
        model = Price
        fields = ("currency", "amount_minor", "per_gb_minor", "per_100_minutes_minor")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency = self.instance.currency or self.initial.get("currency") or ""
        if self.is_bound:
            currency = self.data.get(self.add_prefix("currency"), currency)
        for name in ("amount_minor", "per_gb_minor", "per_100_minutes_minor"):
            field = self.fields[name]
            assert isinstance(field, MajorUnitsField)
            field.exponent = EXPONENT.get(str(currency), 2)
            field.widget.currency = str(currency)
            field.widget.attrs["data-symbols"] = ",".join(f"{code}={sign}" for code, sign in SYMBOLS.items())


class PriceFormSet(BaseInlineFormSet[Price, Plan, forms.ModelForm[Price]]):
    """A plan's prices, checked together with the plan as the form is about to save it: a plan on
    sale needs a price in every offered currency (and a flexible one its rates), so that deleting
    the last CNY price of a plan on sale is refused, not saved."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.instance
            for form in self.forms
            if not (self.can_delete and form.cleaned_data.get(DELETION_FIELD_NAME, False))
            and (form.instance.pk is not None or form.has_changed())
        ]
        if self.instance.is_active:
            messages = sale_gap_messages(self.instance.sale_gaps(kept))
            if messages:
                raise ValidationError(messages, code="sale_gaps")


def sale_gap_messages(gaps: SaleGaps) -> list[str]:
    """What staff read when a plan on sale has ``gaps``: one sentence each, saying what to do."""
    messages = []
    if gaps.missing_currencies:
        messages.append(
            ngettext(
                "This plan is on sale but has no price in %(currencies)s, so customers who pay in it "
                "cannot see the plan. Add the price, or take the plan off sale.",
                "This plan is on sale but has no price in %(currencies)s, so customers who pay in "
                "them cannot see the plan. Add the prices, or take the plan off sale.",
                len(gaps.missing_currencies),
            )
            % {"currencies": ", ".join(gaps.missing_currencies)}
        )
    if gaps.without_per_gb:
        messages.append(
            _(
                "This flexible plan is on sale but its price in %(currencies)s has no rate per GB. "
                "Enter the rate, or take the plan off sale."
            )
            % {"currencies": ", ".join(gaps.without_per_gb)}
        )
    if gaps.without_per_100_minutes:
        messages.append(
            _(
                "This flexible plan is on sale but its price in %(currencies)s has no rate per 100 "
                "minutes. Enter the rate, or take the plan off sale."
            )
            % {"currencies": ", ".join(gaps.without_per_100_minutes)}
        )
    return messages


class CountriesWidget(FilteredSelectMultiple):
    """The admin's two-box picker with a filter. Its script builds the boxes inside the select's
    parent, so the select gets a box of its own, and the field's label stays on its left."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        return format_html('<div class="countries-picker">{}</div>', super().render(name, value, attrs, renderer))


class CountriesField(forms.MultipleChoiceField):
    """Countries picked by name (in the staff member's language) from every ISO 3166-1 country;
    cleaned to upper-case alpha-2 codes."""

    default_error_messages = {
        "invalid_choice": gettext_lazy("Not an ISO 3166-1 country code: %(value)s."),
        "invalid_list": gettext_lazy("Pick countries from the list."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", CountriesWidget(gettext_lazy("countries"), is_stacked=False))
        super().__init__(choices=country_choices, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return is_country_code(value)


class PlanForm(forms.ModelForm[Plan]):
    """A plan, with its countries picked from the list. Codes stored before the guard rails that
    are not ISO codes are named under the field, and dropped when the plan is saved."""

    countries = CountriesField(
        label=gettext_lazy("Countries"),
        required=False,
        help_text=gettext_lazy("Where a roaming pack works. None: at home."),
    )

    class Meta:
        model = Plan
        fields = (
            "code",
            "kind",
            "is_addon",
            "is_active",
            "sort_order",
            "name_en",
            "name_zh",
            "description_en",
            "description_zh",
            "data_mb",
            "minutes",
            "sms",
            "validity_days",
            "countries",
            "flex_data_gb_min",
            "flex_data_gb_max",
            "flex_minutes_min",
            "flex_minutes_max",
        )
        labels = {"sort_order": gettext_lazy("Sort order")}
        help_texts = {"sort_order": gettext_lazy("Lower numbers come first in the catalogue.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.countries if isinstance(self.instance.countries, list) else []
        # Lower-case codes read as the code they mean; the rest cannot be picked, so staff are told.
        self.initial["countries"] = [str(code).upper() for code in stored if is_country_code(str(code).upper())]
        unknown = [code for code in unknown_country_codes(self.instance.countries) if not is_country_code(code.upper())]
        if unknown and "countries" in self.fields:
            self.fields["countries"].help_text = _(
                "Stored codes that are not ISO country codes, dropped when you save: %(codes)s."
            ) % {"codes": ", ".join(unknown)}

    def clean_countries(self) -> list[str]:
        """The picked codes, those the plan had first in their order, new ones after by code."""
        picked = [str(code).upper() for code in self.cleaned_data.get("countries") or []]
        stored = self.instance.countries if isinstance(self.instance.countries, list) else []
        before = [str(code).upper() for code in stored]
        kept = [code for code in dict.fromkeys(before) if code in picked]
        return kept + sorted(set(picked) - set(kept))


class PlanListForm(forms.ModelForm[Plan]):
    """A row of the plan list (``is_active`` is editable there): putting a plan on sale from the
    list is refused while its saved prices leave a gap."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("is_active") and self.instance.pk is not None:
            messages = sale_gap_messages(self.instance.sale_gaps(self.instance.prices.all()))
            if messages:
                raise ValidationError(messages, code="sale_gaps")
        return cleaned

    def _update_errors(self, errors: ValidationError) -> None:
        # The plan's own checks (Plan.clean) name fields this row does not show: say them at the row.
        if hasattr(errors, "error_dict"):
            by_field: dict[str, list[ValidationError]] = {}
            for name, messages in errors.error_dict.items():
                by_field.setdefault(name if name in self.fields else NON_FIELD_ERRORS, []).extend(messages)
            errors = ValidationError(by_field)
        super()._update_errors(errors)  # type: ignore[misc]
