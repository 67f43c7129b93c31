"""Validators for the identifiers on an eSIM: ICCID and EID."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def luhn_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is the Luhn check digit of the rest."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    for digit in "0123456789":
        if luhn_valid(payload + digit):
            return digit
    raise AssertionError("unreachable: one digit always fits")


def validate_iccid(value: str) -> None:
    if not (value.isascii() and value.isdigit() and 19 <= len(value) <= 20):
        raise ValidationError(_("An ICCID is 19 or 20 digits."), code="iccid_format")
    if not luhn_valid(value):
        raise ValidationError(_("This ICCID's check digit is wrong."), code="iccid_checksum")


def validate_eid(value: str) -> None:
    if not (value.isascii() and value.isdigit() and len(value) == 32):
        raise ValidationError(_("An EID is 32 digits."), code="eid_format")
