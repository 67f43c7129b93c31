"""What a customer uses in a month, asked for plainly enough to answer on a phone without JS."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import translation
from django.utils.choices import BaseChoiceIterator
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from boomcard.formats import country_name
from plans.recommender import Need, Trip

TRIP_ROWS = 3
MAX_DATA_GB = 1000
MAX_MINUTES = 10_000
MAX_SMS = 10_000
MONTH_MAX_DAYS = 31


def _count_field(label: StrOrPromise, maximum: int, too_many: StrOrPromise, **kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=maximum,
        required=False,
        error_messages={
            "min_value": _("Enter 0 or more."),
            "max_value": too_many,
            "invalid": _("Enter a whole number, like 200."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        **kwargs,
    )


def _attributes(attrs: dict[str, Any]) -> str:
    """HTML attributes as django/forms/widgets/attrs.html writes them."""
    return "".join(
        "" if value is False else (f" {name}" if value is True else format_html(' {}="{}"', name, str(value)))
        for name, value in attrs.items()
    )


class QuickSelect(forms.Select):
    """Django's select, the same markup, drawn in Python: its template includes one template per
    option, and the three trip rows' countries made that most of the recommend page's time."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), _attributes(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                raise ValueError("QuickSelect draws no option groups")
            for option in options:
                parts.append(format_html('\n  <option value="{}"', str(option["value"])))
                parts.append(_attributes(option["attrs"]))
                parts.append(format_html(">{}</option>\n", option["label"]))
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every part escaped above


class _Normalized(BaseChoiceIterator):
    """Choices already in the form Django's fields keep them in, taken as they are: given as a
    list, each of the three trip fields a form makes normalized its ~100 countries again, and that
    was a sixth of the recommender's first view after a change."""

    def __init__(self, choices: tuple[tuple[str, str], ...]) -> None:
        self.choices = choices

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.choices)


@functools.lru_cache(maxsize=64)
def _country_choices(language: str | None, countries: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The trip rows' choices in ``language``: worked out once per language and catalogue."""
    return (
        ("", gettext("No trip")),
        *sorted(((code, country_name(code)) for code in countries), key=lambda choice: choice[1]),
    )


class RecommendForm(forms.Form):
    """A month's data, minutes and SMS, and up to three trips (a country and the days there).

    The country choices are the countries the roaming packs on sale cover, given by the view,
    listed by their name in the active language (code-point order: in Chinese that groups names
    by their first character rather than by pinyin).
    """

    data_gb = forms.DecimalField(
        label=_("Data a month (GB)"),
        min_value=0,
        max_value=MAX_DATA_GB,
        decimal_places=2,
        help_text=_("Decimals are fine, like 2.5."),
        error_messages={
            "min_value": _("Enter 0 or more."),
            "max_value": _("Enter at most 1,000 GB: no one uses more in a month."),
            "invalid": _("Enter a number of GB, like 12 or 2.5."),
            "max_decimal_places": _("Enter at most 2 decimals."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    minutes = _count_field(
        _("Call minutes a month"), MAX_MINUTES, _("Enter at most 10,000 minutes."), help_text=_("Leave empty for none.")
    )
    sms = _count_field(_("SMS a month"), MAX_SMS, _("Enter at most 10,000 SMS."), help_text=_("Leave empty for none."))

    def __init__(self, *args: Any, countries: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = _country_choices(translation.get_language(), tuple(countries))
        for row in range(1, TRIP_ROWS + 1):
            self.fields[f"trip{row}_country"] = forms.ChoiceField(
                label=gettext("Trip %(number)d country") % {"number": row},
                choices=_Normalized(choices),
                widget=QuickSelect,
                required=False,
                error_messages={"invalid_choice": _("Choose a country from the list.")},
            )
            self.fields[f"trip{row}_days"] = forms.IntegerField(
                label=gettext("Trip %(number)d days") % {"number": row},
                min_value=1,
                max_value=MONTH_MAX_DAYS,
                required=False,
                error_messages={
                    "min_value": _("Enter at least 1 day."),
                    "max_value": _("A month has at most 31 days."),
                    "invalid": _("Enter a whole number of days, like 7."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def trip_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """Each trip's country and days fields, for the template to lay out side by side."""
        return [(self[f"trip{row}_country"], self[f"trip{row}_days"]) for row in range(1, TRIP_ROWS + 1)]

    def main_fields(self) -> list[forms.BoundField]:
        return [self["data_gb"], self["minutes"], self["sms"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        total, last_days = 0, ""
        for row in range(1, TRIP_ROWS + 1):
            country_key, days_key = f"trip{row}_country", f"trip{row}_days"
            country, days = cleaned.get(country_key), cleaned.get(days_key)
            if country and days is None and days_key not in self.errors:
                self.add_error(days_key, _("How many days will you be there this month?"))
            elif days is not None and not country and country_key not in self.errors:
                self.add_error(country_key, _("Choose the country."))
            elif country and days:
                total += days
                last_days = days_key
        if total > MONTH_MAX_DAYS:
            self.add_error(
                last_days,
                gettext("Your trips add up to %(days)d days, but a month has at most 31.") % {"days": total},
            )
        return cleaned

    def need(self) -> Need:
        """The need the form describes; only once it is valid."""
        data = self.cleaned_data
        trips = tuple(
            Trip(country=data[f"trip{row}_country"], days=data[f"trip{row}_days"])
            for row in range(1, TRIP_ROWS + 1)
            if data.get(f"trip{row}_country") and data.get(f"trip{row}_days")
        )
        return Need(
            data_gb=data["data_gb"] if data.get("data_gb") is not None else Decimal(0),
            minutes=data.get("minutes") or 0,
            sms=data.get("sms") or 0,
            trips=trips,
        )
