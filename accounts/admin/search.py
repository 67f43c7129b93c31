"""Phone search in the admin: a number finds its row however it is written.

Staff type numbers the way customers write them (``138-0013-8000``, ``0086 138 0013 8000``,
``(+86) 138 0013 8000``); numbers are stored in E.164 (``+8613800138000``), which a plain
"contains" search misses. An admin lists its phone fields in ``phone_search_fields``
(``["phone"]``, ``["owner__phone"]``) and a search term is also read with the log-in's own reader
(``accounts.phones.parse_phone``): a whole number matches exactly, and the digits of a part of
one (``0013 8000``) are looked for inside the stored numbers.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.phones import parse_phone

# What a number may be written with besides digits.
PHONE_LIKE = re.compile(r"^[\d\s()+\-.]+$")
# Fewer digits than this would find half the customers.
PART_MIN_DIGITS = 4


def phone_search_q(fields: list[str], term: str) -> Q | None:
    """The filter for ``term`` over ``fields``, or None when the term is not a number or a part
    of one."""
    term = term.strip()
    if not fields or not PHONE_LIKE.match(term):
        return None
    query = Q()
    if (number := parse_phone(term)) is not None:
        for field in fields:
            query |= Q(**{field: str(number.as_e164)})
    digits = re.sub(r"\D", "", term)
    if len(digits) >= PART_MIN_DIGITS:
        for field in fields:
            query |= Q(**{f"{field}__contains": digits})
    return query or None


class PhoneSearchAdmin(admin.ModelAdmin[Any]):
    """Mix into a ModelAdmin (before ``admin.ModelAdmin``) and name its phone fields."""

    phone_search_fields: list[str] = []

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        query = phone_search_q(list(self.phone_search_fields), search_term)
        if query is None:
            return results, may_have_duplicates
        spans_relations = any("__" in field for field in self.phone_search_fields)
        return results | queryset.filter(query), may_have_duplicates or spans_relations
