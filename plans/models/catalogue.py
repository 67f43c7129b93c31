"""The catalogue: what a customer can buy (Plan) and what it costs in each currency (Price)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from boomcard.formats import GB as GB  # the units data is counted in, for the apps above
from boomcard.formats import MB as MB

CURRENCIES = [("CNY", "CNY ¥"), ("HKD", "HKD $"), ("USD", "USD $")]


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
        return f"{self.plan.code} {self.currency} {self.amount_minor}"
