"""A set of plans to buy, as a URL carries it: one ``item`` parameter per plan, ``<code>.<count>``,
and ``<code>.<count>.<GB>.<minutes>`` for the flexible plan; ``<code>.<count>.t`` when the copies
run one after another (packs bought to last a trip's days; without ``.t`` they run side by side, as
links written before it still read). The recommender's answers are written
this way for their "Buy this" links; billing reads them back and prices them from the catalogue
(a basket holds no price, so none can come from the browser). Codes are slugs, so the dots are
unambiguous and need no escaping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from plans.models import Plan
from plans.pricing import FlexibleChoice

PARAMETER = "item"
_ENTRY = re.compile(r"^([-a-zA-Z0-9_]{1,40})\.([0-9]{1,3})(?:\.([0-9]{1,5})\.([0-9]{1,6}))?(\.t)?$")
IN_TURN = ".t"


class _Item(Protocol):
    @property
    def plan(self) -> Plan: ...
    @property
    def quantity(self) -> int: ...
    @property
    def choice(self) -> FlexibleChoice | None: ...
    @property
    def in_turn(self) -> bool: ...


@dataclass(frozen=True)
class BasketEntry:
    """``count`` of the plan ``code`` (not looked up yet), with the flexible amounts if given, and
    whether the copies run one after another (billing checks it is asked only of add-on packs)."""

    code: str
    count: int
    choice: FlexibleChoice | None = None
    in_turn: bool = False


def basket_query(items: Iterable[_Item]) -> str:
    """The query string for ``items`` (the recommender's ``Item``s, or anything shaped so)."""
    entries = []
    for item in items:
        entry = f"{item.plan.code}.{item.quantity}"
        if item.choice is not None:
            entry += f".{item.choice.data_gb}.{item.choice.minutes}"
        if item.in_turn:
            entry += IN_TURN
        entries.append((PARAMETER, entry))
    return urlencode(entries)


def basket_entry_parse(text: str) -> BasketEntry | None:
    """One ``item`` parameter read back; None when it is not written as above."""
    found = _ENTRY.match(text)
    if found is None:
        return None
    code, count, data_gb, minutes, in_turn = found.groups()
    choice = FlexibleChoice(int(data_gb), int(minutes)) if data_gb is not None else None
    return BasketEntry(code=code, count=int(count), choice=choice, in_turn=in_turn is not None)
