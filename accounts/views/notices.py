"""The customer's notices: the list (opening it marks them read) and marking all read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.http import CustomerRequest
from accounts.notice_text import notice_text


@login_required
def notices(request: CustomerRequest) -> HttpResponse:
    """The customer's notices, newest first; opening the page marks them read."""
    page = Paginator(request.user.notices.order_by("-created_at", "-id"), 20).get_page(request.GET.get("page"))
    items = [(notice, notice_text(notice)) for notice in page.object_list]
    unread = [notice.pk for notice in page.object_list if notice.read_at is None]
    if unread:
        services.notice_mark_read(user=request.user, notice_ids=unread)
        # The bell on this page counts what is still unread now that these are read.
        request.user.unread_notice_count = selectors.unread_notice_count(user=request.user)
    return render(request, "accounts/notices.html", {"page": page, "items": items, "unread": set(unread)})


@login_required
@require_POST
def notices_read(request: CustomerRequest) -> HttpResponse:
    services.notice_mark_read(user=request.user)
    return redirect("accounts:notices")
