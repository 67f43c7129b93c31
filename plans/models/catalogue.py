"""The catalogue: what a customer can buy (Plan) and what it costs in each currency (Price)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from boomcard.formats import GB as GB  # the units data is counted in, for the apps above
from boomcard.formats import MB as MB
from boomcard.formats import is_country_code, money

CURRENCIES = [("CNY", "CNY ¥"), ("HKD", "HKD $"), ("USD", "USD $")]


def offered_currencies() -> list[str]:
    """The currencies customers can see prices in (``plans.currency``: any of these, by choice)."""
    return [code for code, _label in CURRENCIES]


def unknown_country_codes(countries: object) -> list[str]:
    """What in a plan's stored ``countries`` is not an upper-case ISO 3166-1 alpha-2 code, as
    text; all of it when it is not a list."""
    if not isinstance(countries, list):
        return [str(countries)]
    return [str(code) for code in countries if not is_country_code(code)]


class Plan(models.Model):
    """Something a customer can buy for a line: a base plan (moves the expiry) or an add-on pack."""

    class Kind(models.TextChoices):
        BASIC = "basic", _("Basic")
        BIG_DATA = "big_data", _("Big data")
        ROAMING = "roaming", _("Roaming")
        FLEXIBLE = "flexible", _("Flexible")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    is_addon = models.BooleanField(
        _("add-on pack"), default=False, help_text=_("Adds allowance without moving the line's expiry.")
    )
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    data_mb = models.PositiveIntegerField(_("data (MB)"), default=0)
    minutes = models.PositiveIntegerField(_("minutes"), default=0)
    sms = models.PositiveIntegerField(_("SMS"), default=0)
    validity_days = models.PositiveSmallIntegerField(_("validity (days)"))
    countries = models.JSONField(
        _("countries"),
        default=list,
        blank=True,
        help_text=_('ISO country codes where a roaming pack works, e.g. ["JP", "KR"]. Empty: home.'),
    )
    # A flexible plan: the customer picks data (GB) and minutes (in hundreds) within these bounds.
    flex_data_gb_min = models.PositiveSmallIntegerField(_("flexible: least GB"), default=0)
    flex_data_gb_max = models.PositiveSmallIntegerField(_("flexible: most GB"), default=0)
    flex_minutes_min = models.PositiveIntegerField(_("flexible: least minutes"), default=0)
    flex_minutes_max = models.PositiveIntegerField(_("flexible: most minutes"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)
    sort_order = models.PositiveSmallIntegerField(pgettext_lazy("position in a list", "order"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="plans_plan_validity_positive"),
            models.CheckConstraint(
                condition=~Q(kind="flexible") | Q(is_addon=False), name="plans_plan_flexible_is_base"
            ),
            models.CheckConstraint(
                condition=Q(flex_data_gb_min__lte=F("flex_data_gb_max"))
                & Q(flex_minutes_min__lte=F("flex_minutes_max")),
                name="plans_plan_flex_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def clean(self) -> None:
        """The plan's own rules, with a message for each (the database holds the same ones it can),
        so that the admin, the shell and an import cannot save junk through ``full_clean``."""
        errors: dict[str, ValidationError] = {}
        unknown = unknown_country_codes(self.countries)
        if unknown:
            errors["countries"] = ValidationError(
                _("Not ISO 3166-1 country codes: %(codes)s. Use two-letter codes in capitals, such as JP or KR."),
                code="unknown_country",
                params={"codes": ", ".join(unknown)},
            )
        elif self.kind == self.Kind.ROAMING and not self.countries:
            errors["countries"] = ValidationError(
                _("A roaming pack needs at least one country."), code="roaming_without_countries"
            )
        if self.kind == self.Kind.FLEXIBLE and self.is_addon:
            errors["is_addon"] = ValidationError(
                _("A flexible plan is a base plan, not an add-on pack."), code="flexible_addon"
            )
        if self.flex_data_gb_min > self.flex_data_gb_max:
            errors["flex_data_gb_max"] = ValidationError(
                _("The most GB cannot be less than the least."), code="flex_data_bounds"
            )
        if self.flex_minutes_min > self.flex_minutes_max:
            errors["flex_minutes_max"] = ValidationError(
                _("The most minutes cannot be less than the least."), code="flex_minutes_bounds"
            )
        if errors:
            raise ValidationError(errors)

    def sale_gaps(self, prices: Iterable[Price]) -> SaleGaps:
        """What keeps this plan from being sold in every offered currency, given its ``prices``
        (the saved ones, or those an admin form is about to save)."""
        prices = list(prices)
        flexible = self.kind == self.Kind.FLEXIBLE
        return SaleGaps(
            missing_currencies=tuple(sorted(set(offered_currencies()) - {price.currency for price in prices})),
            without_per_gb=tuple(
                sorted(p.currency for p in prices if flexible and self.flex_data_gb_max and not p.per_gb_minor)
            ),
            without_per_100_minutes=tuple(
                sorted(p.currency for p in prices if flexible and self.flex_minutes_max and not p.per_100_minutes_minor)
            ),
        )

    @property
    def name(self) -> str:
        return self.name_zh if _is_chinese() else self.name_en

    @property
    def description(self) -> str:
        return self.description_zh if _is_chinese() else self.description_en

    @property
    def is_flexible(self) -> bool:
        return self.kind == self.Kind.FLEXIBLE

    @property
    def is_roaming(self) -> bool:
        return bool(self.countries)


@dataclass(frozen=True)
class SaleGaps:
    """A plan's prices that customers would miss: currencies with no price at all, and, for a
    flexible plan, currencies whose price has no rate per GB or per 100 minutes."""

    missing_currencies: tuple[str, ...] = ()
    without_per_gb: tuple[str, ...] = ()
    without_per_100_minutes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.missing_currencies or self.without_per_gb or self.without_per_100_minutes)


def _is_chinese() -> bool:
    return (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")


class Price(models.Model):
    """What a plan costs in one currency, in minor units (fen, cents).

    For a flexible plan ``amount_minor`` is the base, plus ``per_gb_minor`` for each GB and
    ``per_100_minutes_minor`` for each hundred minutes the customer picks.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices", verbose_name=_("plan"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    amount_minor = models.PositiveIntegerField(_("price (minor units)"))
    per_gb_minor = models.PositiveIntegerField(_("flexible: per GB (minor units)"), default=0)
    per_100_minutes_minor = models.PositiveIntegerField(_("flexible: per 100 minutes (minor units)"), default=0)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [models.UniqueConstraint(fields=["plan", "currency"], name="plans_price_one_per_currency")]

    def __str__(self) -> str:
        return f"{self.plan.code} {money(self.amount_minor, self.currency)}"
