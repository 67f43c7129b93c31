"""Failed log-ins, counted per account whatever name was typed (django-axes).

django-axes counts failures under the name ``login_key`` gives (``AXES_USERNAME_CALLABLE``):
the account's number, whether the number was typed in any writing or the email was. It locks
the pair of that name and the client's address (``AXES_LOCKOUT_PARAMETERS``), so after
``LOGIN_FAILURE_LIMIT`` wrong passwords the account cannot be logged in to from that address,
while the owner elsewhere (and anyone else from that address) still can. Elsewhere, each
password tried for an account with that many recent failures first waits ``login_delay``: a
guesser spread over many addresses is slowed down, the owner gets in.

A password reset by SMS code forgets the account's failures (``login_failures_forget``), so the
owner can always get in with the new password, from anywhere.

Staff and customers are kept apart. Lockouts are per account already; the per-address cap on
log-in posts (``boomcard.ratelimit``) is counted apart for the two (``login_rate_limit``), so
customers pressing on from an address (a shop, an office, a mobile network's shared address)
never stop staff logging in from it, nor staff's failures customers.
"""

from time import sleep

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from accounts.phones import parse_phone

# django-axes' tables hold names of up to 255 characters; the log-in form does not limit what
# is typed, and a longer name was a server error.
KEY_LENGTH = 255


def canonical_login(login: str) -> str:
    """One spelling per name: ``138 0013 8000`` and ``+8613800138000`` are the same number."""
    login = login.strip()
    if "@" in login:
        return login.lower()
    if (phone := parse_phone(login)) is not None:
        return str(phone.as_e164)
    return login


def account_key(user: User) -> str:
    """The name an account's failures are counted under: its number in E.164."""
    return str(user.phone.as_e164)


def login_key(*, user: User | None, login: str) -> str:
    """The name failures are counted under: the account's when ``login`` (the number in any
    writing, the email, a staff name) names ``user``, else ``login`` in its canonical spelling.
    Names of no account are counted the same way as accounts, so lockouts do not tell which
    ones exist."""
    key = account_key(user) if user is not None else canonical_login(login)
    return key[:KEY_LENGTH]


def is_staff_name(login: str) -> bool:
    """Whether ``login`` is written as a staff log-in name: neither an email nor a phone number
    (customers log in with those). Told by its form alone, never by looking it up."""
    login = login.strip()
    return bool(login) and "@" not in login and parse_phone(login) is None


def login_rate_limit(*, login: str = "", user: User | None = None) -> str:
    """The per-address cap (a name in ``settings.RATE_LIMITS``) a log-in post counts against:
    ``staff_login`` for staff, ``login`` for customers.

    Before the password is checked it is told by the name typed (``is_staff_name``), so names of
    no account count the same as real ones and the cap tells no one which staff names exist;
    after it (the code step, "confirm it's you"), by the account."""
    is_staff = user.is_staff if user is not None else is_staff_name(login)
    return "staff_login" if is_staff else "login"


def recent_failures(*, key: str) -> int:
    """Wrong passwords for ``key`` within the cool-off, from all addresses together (read from
    django-axes' own records, so its cool-off and resets apply here too)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(username=key, attempt_time__gte=since)
    return int(attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0)


def login_delay(*, failures: int) -> float:
    """Seconds to wait before checking a password: none below ``LOGIN_FAILURE_LIMIT``, then
    ``LOGIN_DELAY_SECONDS`` doubling with each further failure, at most
    ``LOGIN_DELAY_MAX_SECONDS``."""
    beyond = failures - settings.AXES_FAILURE_LIMIT
    if beyond < 0:
        return 0.0
    return float(min(settings.LOGIN_DELAY_SECONDS * 2 ** min(beyond, 32), settings.LOGIN_DELAY_MAX_SECONDS))


def login_wait(*, key: str) -> None:
    """Wait before a password for ``key`` is checked, right or wrong (waiting only for right ones
    would tell a guesser which was right)."""
    if delay := login_delay(failures=recent_failures(key=key)):
        sleep(delay)


def login_failures_forget(*, user: User) -> None:
    """Forget ``user``'s failed log-ins from every address: the password they were guesses at is
    gone, and the owner, who proved the number by SMS, must get in."""
    axes_reset(username=account_key(user))
