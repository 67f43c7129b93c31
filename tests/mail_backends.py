"""Email backends for tests, and a reader for the files they write.

- ``FailingBackend``: every send fails as a dropped SMTP connection would.
- ``SlowFileBackend``: one file per email in ``EMAIL_FILE_PATH``, written after a pause of
  ``EMAIL_TEST_DELAY`` seconds; when it starts pausing it leaves a note in ``sending/`` under that
  directory, so a test can kill the worker while it is in the middle of a send.
"""

from __future__ import annotations

import email
import os
import smtplib
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class SlowFileBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        delay = float(getattr(settings, "EMAIL_TEST_DELAY", 0))
        if delay and email_messages:
            notes = self.directory / "sending"
            notes.mkdir(exist_ok=True)
            (notes / f"{os.getpid()}-{uuid.uuid4().hex}").touch()
            time.sleep(delay)
        for message in email_messages:
            # Written whole, then renamed: a reader never sees half an email.
            name = uuid.uuid4().hex
            partial = self.directory / f"{name}.part"
            partial.write_bytes(message.message().as_bytes())
            partial.rename(self.directory / f"{name}.eml")
        return len(email_messages)


def sent_emails(directory: Path) -> list[str]:
    """The emails ``SlowFileBackend`` wrote to ``directory``: headers and decoded parts, as text."""
    emails = []
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        parts = [str(message)]
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
        emails.append("\n".join(parts))
    return emails


def emails_mentioning(directory: Path, text: str) -> int:
    """How many of the emails written to ``directory`` contain ``text``."""
    return sum(text in body for body in sent_emails(directory))
