from django.http import HttpRequest

from accounts.models import Notice


def unread_notices(request: HttpRequest) -> dict[str, int]:
    """The bell's count in the header: one indexed query, for logged-in customers only."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notices": Notice.objects.filter(user=user, read_at__isnull=True).count()}
