from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.lockout import login_key, login_wait
from accounts.models import User
from accounts.phones import parse_phone
from accounts.selectors import user_with_unread_count
from boomcard.page_cache import ACCOUNT, USER, customer_cached


def find_user_by_login(login: str) -> User | None:
    """The user a log-in name points at: an email, a phone number in any common writing, or a
    staff member's short name."""
    login = login.strip()
    if not login:
        return None
    if "@" in login:
        return User.objects.filter(email__iexact=login).first()
    if (phone := parse_phone(login)) is not None:
        return User.objects.filter(phone=phone).first()
    return User.objects.filter(username=login, is_staff=True).first()


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The name django-axes counts failed log-ins by: the account's, whichever of its names was
    typed (``accounts.lockout``)."""
    login = str((credentials or {}).get("username") or request.POST.get("username", ""))
    return login_key(user=find_user_by_login(login), login=login)


class PhoneOrEmailBackend(ModelBackend):
    """Authenticates with the number (any common writing), the email, or a staff name.

    The logged-in user of each request comes from the customer's page cache
    (boomcard.page_cache), under the account's generation, which any save of the user renews: a
    password change, a deactivation or a new language shows on the next request, as with a
    database read. The header's bell count comes with it, read in the same query (any change to
    the customer's notices renews the generation too), so that a page makes one trip to the
    cache, or one query, for the two. A change to the customer's lines or orders leaves it.
    """

    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None

        user = customer_cached(pk, USER, lambda: user_with_unread_count(user_id=pk), of=ACCOUNT)
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        user = find_user_by_login(username)
        # From an address that is not locked out, an account under attack answers slowly.
        login_wait(key=login_key(user=user, login=username))
        if user is None:
            # Spend the same time as a real check, so timing does not tell which numbers exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
