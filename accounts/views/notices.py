"""The customer's notices: the list (opening it marks them read) and marking all read."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.http import CustomerRequest
from accounts.notice_text import notice_text
from boomcard.page_fragments import drawn_once, fragment_for, fragment_render, page_number
from boomcard.page_shell import customer_page
from boomcard.rows import row_columns


@login_required
def notices(request: CustomerRequest) -> HttpResponse:
    """The customer's notices, newest first; opening the page marks them read. A page is kept
    whole per customer unless it shows new notices: those are new on the one view that marks
    them read, which changes the page."""
    user = request.user
    number = page_number(request.GET.get("page"))

    def fragment() -> tuple[str, list[int]]:
        page = selectors.notice_page(user=user, number=number)
        unread = [notice.pk for notice in page.items if notice.read_at is None]

        def draw() -> str:
            items = [(notice, notice_text(notice)) for notice in page.items]
            return fragment_render("accounts/notices_body.html", {"page": page, "items": items, "unread": set(unread)})

        # Drawn once per process under every column of the notices shown: a change to something
        # else of the customer's (a usage batch, an order) finds the list as it was drawn.
        shows = repr((page.number, page.has_next, unread, [row_columns(notice) for notice in page.items]))
        return drawn_once("notices", shows, draw), unread

    drawn: list[tuple[str, list[int]]] = []

    def context() -> dict[str, Any] | None:
        html, unread = fragment()
        if unread:
            # A page showing new notices is seen once: marking them read (below) changes it.
            drawn.append((html, unread))
            return None
        return {"body": mark_safe(html)}  # noqa: S308 (our template)

    response = customer_page(request, f"notices:{number}", "accounts/notices.html", context, params=("page",))
    if response is not None:
        return response
    # Drawn just now (new notices), or else drawn here: messages to show, or the answer None kept.
    html, unread = drawn[0] if drawn else fragment()
    if unread:
        services.notice_mark_read(user=user, notice_ids=unread)
        # The bell on this page counts what is still unread now that these are read.
        user.unread_notice_count = selectors.unread_notice_count(user=user)
    return render(request, "accounts/notices.html", {"body": fragment_for(request, html)})


@login_required
@require_POST
def notices_read(request: CustomerRequest) -> HttpResponse:
    services.notice_mark_read(user=request.user)
    return redirect("accounts:notices")
