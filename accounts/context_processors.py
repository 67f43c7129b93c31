from django.http import HttpRequest

from accounts.models import Notice
from accounts.page_cache import customer_cached


def unread_notices(request: HttpRequest) -> dict[str, int]:
    """The bell's count in the header, for logged-in customers only: cached per customer
    (accounts.page_cache), otherwise one indexed query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        return Notice.objects.filter(user=user, read_at__isnull=True).count()

    return {"unread_notices": customer_cached(user.pk, "unread-notices", count)}
