"""The reads that the accounts pages need."""

from django.db.models import QuerySet

from accounts.models import Line, User


def lines_for_customer(*, user: User) -> QuerySet[Line]:
    return Line.objects.filter(owner=user).order_by("added_at", "id")
