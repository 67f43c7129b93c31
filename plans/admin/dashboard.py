"""The admin front page's panel about the usage feed: batches the network posted that are not
applied to balances yet."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, Sum
from django.http import HttpRequest

from accounts.admin_site import changelist_url, dashboard_panel
from plans.models import UsageBatch


@dashboard_panel(template="admin/dashboard/usage_batches.html", permission="plans.view_usagebatch", position=50)
def usage_batches_panel(request: HttpRequest) -> dict[str, Any]:
    """Pending batches, their records and the oldest's arrival. One query."""
    pending = UsageBatch.objects.filter(status=UsageBatch.Status.PENDING).aggregate(
        count=Count("id"), records=Sum("record_count"), oldest=Min("received_at")
    )
    return {
        "count": pending["count"],
        "records": pending["records"] or 0,
        "oldest": pending["oldest"],
        "link": changelist_url(UsageBatch, status=UsageBatch.Status.PENDING),
    }
