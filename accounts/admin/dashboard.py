"""The admin front page's panels about people: support requests still open, and emails the outbox
has not sent yet."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min
from django.http import HttpRequest

from accounts.admin_site import changelist_url, dashboard_panel
from accounts.models import EmailDelivery, SupportRequest

# The statuses a request leaves the queue by: "closed", which the support queue calls "solved".
SUPPORT_DONE = ("closed", "solved")
EMAIL_UNSENT = (EmailDelivery.Status.PENDING, EmailDelivery.Status.FAILED)


@dashboard_panel(template="admin/dashboard/support.html", permission="accounts.view_supportrequest", position=30)
def support_panel(request: HttpRequest) -> dict[str, Any]:
    """Open requests per status, oldest first in the queue. One query."""
    names = dict(SupportRequest.Status.choices)
    counts = {
        row["status"]: row["count"]
        for row in SupportRequest.objects.exclude(status__in=SUPPORT_DONE).values("status").annotate(count=Count("id"))
    }
    rows = [
        {"status": names[status], "count": counts[status], "link": changelist_url(SupportRequest, status__exact=status)}
        for status in names
        if status in counts
    ]
    return {"total": sum(counts.values()), "rows": rows, "all_link": changelist_url(SupportRequest)}


@dashboard_panel(template="admin/dashboard/emails.html", permission="accounts.view_emaildelivery", position=40)
def emails_panel(request: HttpRequest) -> dict[str, Any]:
    """Emails waiting to be sent (or tried again) and emails given up on, with the oldest of
    each. One query."""
    found = {
        row["status"]: row
        for row in EmailDelivery.objects.filter(status__in=EMAIL_UNSENT)
        .values("status")
        .annotate(count=Count("id"), oldest=Min("created_at"))
    }
    rows = [
        {
            "status": status.label,
            "count": found[status]["count"],
            "oldest": found[status]["oldest"],
            "link": changelist_url(EmailDelivery, status__exact=status.value),
        }
        for status in EMAIL_UNSENT
        if status in found
    ]
    return {"total": sum(row["count"] for row in rows), "rows": rows}
