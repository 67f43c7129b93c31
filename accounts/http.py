from django.http import HttpRequest

from accounts.models import User


class CustomerRequest(HttpRequest):
    """The request a login-required view receives: ``user`` is a real, logged-in User."""

    user: User
