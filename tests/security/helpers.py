"""Two-step log-in in tests: codes computed the way an authenticator app does, and a staff
session that passed its second step."""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


def app_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows for ``device`` now (or at ``at``), computed
    by django-otp's own TOTP."""
    code = TOTP(device.bin_key, device.step, device.t0, device.digits)
    code.time = time.time() if at is None else at
    return f"{code.token():0{device.digits}d}"


def authenticator_for(user: User) -> TOTPDevice:
    """A confirmed authenticator app for ``user``, as if they had set it up."""
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def log_in_with_second_step(client: Client, user: User) -> TOTPDevice:
    """``client.force_login(user)``, and the session counts as having passed the second step
    (what staff need for the admin). Gives the user an authenticator if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or authenticator_for(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
