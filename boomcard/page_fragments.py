"""Parts of a customer's page kept as HTML in the page cache (boomcard.page_cache) that hold
forms: the CSRF token is never cached. A fragment is rendered with a marker where each form's
token goes (``TOKEN_MARKER``, given to the template as ``csrf_token``), and every request fills
in its own token (``fragment_for``). The marker has a raw ``<``, which autoescaping never lets
a customer's text (a line's nickname, a message) produce, so nothing else is replaced.

Scripts and their CSP nonces stay out of fragments: they belong in the page's ``head`` block,
rendered for each request.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.cache import caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

TOKEN_MARKER = mark_safe("<boom-csrf-token>")
# A form's own one-time token (the support form's, which makes a retried post find the request
# it already made): given as the field's initial value, replaced by a new UUID on every request.
FORM_TOKEN_MARKER = "boom-form-token"  # noqa: S105 (a placeholder, not a secret)
_FORM_TOKEN_VALUE = f'value="{FORM_TOKEN_MARKER}"'

T = TypeVar("T")


def fragment_render(template_name: str, context: dict[str, Any]) -> str:
    """``template_name`` rendered to be cached: with the token marker for ``{% csrf_token %}``
    and no request (so no nonce, no user, no messages)."""
    return render_to_string(template_name, {**context, "csrf_token": TOKEN_MARKER})


def fragment_for(request: HttpRequest, fragment: str) -> SafeString:
    """A cached fragment made ready for this request: its forms carry this request's CSRF token,
    and each form token field a new token."""
    if TOKEN_MARKER in fragment:
        fragment = fragment.replace(TOKEN_MARKER, get_token(request))
    while _FORM_TOKEN_VALUE in fragment:  # a customer's text cannot hold a raw quote: only our fields match
        fragment = fragment.replace(_FORM_TOKEN_VALUE, f'value="{uuid.uuid4()}"', 1)
    return mark_safe(fragment)  # noqa: S308 (rendered by our templates, autoescaped)


# The fragments cache is in each process's memory: a drawing stays as long as what it shows.
DRAWN_SECONDS = 24 * 60 * 60


def drawn_once(name: str, shows: str, draw: Callable[[], str]) -> str:
    """``draw()``, kept in each process's memory under ``shows`` (every figure and text the
    drawing shows, as a string) with the language and time zone: the first view after a change
    to something else of the customer's (a notice, a usage batch) reuses it, and a change to
    what it shows changes the key, so it is drawn anew. Only for drawings that hold nothing but
    what ``shows`` names (no clock, no token, no customer text left out of it)."""
    text = ";".join([translation.get_language() or "", timezone.get_current_timezone_name(), shows])
    key = f"drawn:{name}:" + hashlib.sha256(text.encode()).hexdigest()[:32]
    fragments = caches["fragments"]
    html: str | None = fragments.get(key)
    if html is None:
        html = draw()
        fragments.set(key, html, DRAWN_SECONDS)
    return html


def fragment_name(*parts: object) -> str:
    """A fragment's name in the customer's page cache: ``parts`` (what it shows) and the language
    and time zone it is rendered in."""
    return ":".join([*map(str, parts), translation.get_language() or "", timezone.get_current_timezone_name()])


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list (a customer's orders, their notices), newest first: ``number`` counts
    from 1; ``num_pages`` is None for a list that says only "newer" and "older" (not counted)."""

    number: int
    items: list[T]
    has_next: bool
    num_pages: int | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1


def page_number(value: str | None) -> int:
    """A list's page number from the query string: 1 unless a plausible one (a larger number than
    the list has pages shows its last page, as Django's ``Paginator.get_page`` does)."""
    if value and value.isdigit() and 0 < len(value) <= 6:
        return max(1, int(value))
    return 1
