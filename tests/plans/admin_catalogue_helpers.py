"""Posting a plan's change form in the admin as a browser would: the plan's fields and its price
rows (the ``prices`` inline), in major units as staff type them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import reverse

from plans.models import Plan

PLAN_FIELDS = [
    "code",
    "kind",
    "sort_order",
    "name_en",
    "name_zh",
    "description_en",
    "description_zh",
    "data_mb",
    "minutes",
    "sms",
    "validity_days",
    "flex_data_gb_min",
    "flex_data_gb_max",
    "flex_minutes_min",
    "flex_minutes_max",
]


def major(minor: int) -> str:
    return "" if not minor else f"{Decimal(minor).scaleb(-2):.2f}"


def price_rows(plan: Plan | None) -> list[dict[str, Any]]:
    """The plan's saved prices as the change form shows them, in major units."""
    if plan is None:
        return []
    return [
        {
            "id": price.pk,
            "currency": price.currency,
            "amount_minor": major(price.amount_minor),
            "per_gb_minor": major(price.per_gb_minor),
            "per_100_minutes_minor": major(price.per_100_minutes_minor),
        }
        for price in plan.prices.order_by("pk")
    ]


def plan_form(plan: Plan | None, *, rows: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    """The POST of the plan's change (or add) form: its fields with ``changes``, and ``rows`` (its
    saved prices unless given; a row with ``"DELETE": "on"`` deletes it)."""
    values: dict[str, Any] = {name: getattr(plan, name) for name in PLAN_FIELDS} if plan else {}
    values.update(
        {
            "is_addon": plan.is_addon if plan else False,
            "is_active": plan.is_active if plan else True,
            "countries": list(plan.countries) if plan else [],
        }
    )
    values.update(changes)
    data: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = value
    rows = price_rows(plan) if rows is None else rows
    saved = [row for row in rows if row.get("id")]
    data.update(
        {
            "prices-TOTAL_FORMS": str(len(rows)),
            "prices-INITIAL_FORMS": str(len(saved)),
            "prices-MIN_NUM_FORMS": "0",
            "prices-MAX_NUM_FORMS": "3",
        }
    )
    for index, row in enumerate(saved + [row for row in rows if not row.get("id")]):
        for key, value in row.items():
            data[f"prices-{index}-{key}"] = value
        if plan is not None:
            data[f"prices-{index}-plan"] = plan.pk
    return data


def change_url(plan: Plan) -> str:
    return reverse("admin:plans_plan_change", args=[plan.pk])


def post_plan(client: Client, plan: Plan, **kwargs: Any) -> Any:
    return client.post(change_url(plan), plan_form(plan, **kwargs))


def with_price(rows: list[dict[str, Any]], currency: str, **values: Any) -> list[dict[str, Any]]:
    """``rows`` with the row in ``currency`` changed by ``values``."""
    return [{**row, **values} if row["currency"] == currency else row for row in rows]
