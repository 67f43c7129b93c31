"""Sending SMS through a backend chosen in settings, as Django does for email.

``SMS_BACKEND`` names one of the classes here: ``ConsoleBackend`` (development),
``LocmemBackend`` (tests: messages collect in ``outbox``) or ``HttpBackend`` (a JSON API of the
shape most SMS gateways offer: POST ``{"to", "from", "text"}`` with a bearer key).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    body: str


class SmsError(Exception):
    """The gateway did not take the message."""


class BaseBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"SMS to {message.to}: {message.body}\n")
        sys.stdout.flush()


outbox: list[SmsMessage] = []
_outbox_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    def send(self, message: SmsMessage) -> None:
        with _outbox_lock:
            outbox.append(message)


class HttpBackend(BaseBackend):
    timeout_seconds = 10

    def send(self, message: SmsMessage) -> None:
        if not settings.SMS_API_URL:
            raise SmsError("SMS_API_URL is not set")
        try:
            response = requests.post(
                settings.SMS_API_URL,
                json={"to": message.to, "from": settings.SMS_SENDER, "text": message.body},
                headers={"Authorization": f"Bearer {settings.SMS_API_KEY}"},
                timeout=self.timeout_seconds,
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise SmsError(str(exc)) from exc


def send_sms(*, to: str, body: str) -> None:
    backend: BaseBackend = import_string(settings.SMS_BACKEND)()
    backend.send(SmsMessage(to=to, body=body))
