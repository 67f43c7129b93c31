"""What accounts needs to know about customers' lines, which belong to the plans app, above it.

accounts never imports plans: plans fills these hooks in when it starts (``PlansConfig.ready``),
and accounts asks through them. Until then accounts knows of no line: the support form offers
none, and a renewal reminder's email is sent as written.

A notice or a support request names its line by value (``line_ref``, the line's id, and
``line_number``, its number as it was), so it keeps its text when the line is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class NamedLine(Protocol):
    """A line as accounts sees it: an id and a number (a plans.models.Line, or a LineChoice)."""

    @property
    def pk(self) -> Any: ...

    @property
    def msisdn(self) -> object: ...


@dataclass(frozen=True)
class LineChoice:
    """One of a customer's lines, as the support form offers it."""

    pk: int
    msisdn: str
    label: str


def _no_lines(user_id: int) -> list[LineChoice]:
    return []


# The customer's own lines (by user id), in the order their pages show them.
customer_lines: Callable[[int], list[LineChoice]] = _no_lines
# Whether a renewal reminder for the line ``line_ref`` and the expiry (ISO 8601) it was written
# for is still due: False once the line is renewed (its expiry moved) or gone. None: always due.
reminder_still_due: Callable[[int, str], bool] | None = None


def line_hooks_register(
    *, lines_of_customer: Callable[[int], list[LineChoice]], reminder_due: Callable[[int, str], bool]
) -> None:
    global customer_lines, reminder_still_due
    customer_lines = lines_of_customer
    reminder_still_due = reminder_due


def line_fields(line: NamedLine | None) -> dict[str, Any]:
    """The fields that name ``line`` on a notice or a support request."""
    if line is None:
        return {"line_ref": None, "line_number": ""}
    return {"line_ref": line.pk, "line_number": str(line.msisdn)}
