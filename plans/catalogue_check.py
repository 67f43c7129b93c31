"""The catalogue check: every plan with something customers would miss or that staff must fix,
and what it is. Read by the admin's catalogue check page; returns data, the page writes the words."""

from __future__ import annotations

from dataclasses import dataclass

from plans.models import Plan
from plans.models.catalogue import SaleGaps, unknown_country_codes


@dataclass(frozen=True)
class PlanGaps:
    """What is wrong with one plan. ``sale`` only counts for a plan on sale (customers see it)."""

    plan: Plan
    sale: SaleGaps
    unknown_countries: tuple[str, ...]
    roaming_without_countries: bool
    flexible_without_choice: bool

    def __bool__(self) -> bool:
        return bool(self.sale or self.unknown_countries or self.roaming_without_countries) or (
            self.flexible_without_choice
        )


def catalogue_gaps() -> list[PlanGaps]:
    """The plans with a gap, in the catalogue's order, in two queries (plans, their prices)."""
    found = []
    for plan in Plan.objects.prefetch_related("prices").order_by("sort_order", "code"):
        unknown = unknown_country_codes(plan.countries)
        gaps = PlanGaps(
            plan=plan,
            sale=plan.sale_gaps(plan.prices.all()) if plan.is_active else SaleGaps(),
            unknown_countries=tuple(unknown),
            roaming_without_countries=plan.kind == Plan.Kind.ROAMING and not unknown and not plan.countries,
            flexible_without_choice=plan.is_active
            and plan.kind == Plan.Kind.FLEXIBLE
            and not (plan.flex_data_gb_max or plan.flex_minutes_max),
        )
        if gaps:
            found.append(gaps)
    return found
