import re

from accounts.sms import SmsMessage

CODE = re.compile(r"\b(\d{6})\b")


def code_in(message: SmsMessage) -> str:
    """The 6-digit code in an SMS the app sent."""
    match = CODE.search(message.body)
    assert match, f"no 6-digit code in {message.body!r}"
    return match.group(1)
