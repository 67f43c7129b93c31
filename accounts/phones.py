"""Reading phone numbers the way customers write them."""

import phonenumbers
from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse_phone(text: str) -> PhoneNumber | None:
    """The number in ``text`` (``+86 138 0013 8000``, ``13800138000``, ``0086-138...``), or None.

    A number without a country code is read in ``PHONENUMBER_DEFAULT_REGION``.
    """
    text = text.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = PhoneNumber.from_string(text, region=settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if number.is_valid() else None


def is_mobile(number: PhoneNumber) -> bool:
    return phonenumbers.number_type(number) in MOBILE_TYPES
