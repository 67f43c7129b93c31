from django.http import HttpRequest

from accounts.selectors import unread_notice_count


def unread_notices(request: HttpRequest) -> dict[str, int]:
    """The bell's count in the header, for logged-in customers only: read with the user
    (accounts.backends), or else one indexed query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    count = getattr(user, "unread_notice_count", None)
    if count is None:
        count = unread_notice_count(user=user)
    return {"unread_notices": count}
