"""No admin page is a server error: every page staff can open, for an object of every kind, in
English and Chinese, and every change form saved back as it is (what pressing *Save* does)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from plans.models import Plan
from tests.admin_pages import admin_urls, change_forms, every_kind, filter_urls, form_data, unmade_models
from tests.security.helpers import log_in_with_second_step

LANGUAGES = ["en", "zh-hans"]


def _failure(method: str, url: str, response: Any) -> str:
    error = getattr(response, "exc_info", None)
    reason = f"{error[0].__name__}: {error[1]}" if error else ""
    return f"{method} {url} -> {response.status_code} {reason}".strip()


@pytest.fixture
def desk(staff: User, customer: User, plans: dict[str, Plan]) -> dict[str, Any]:
    return every_kind(staff=staff, customer=customer, plans=plans)


def _staff_client(staff: User, language: str) -> Client:
    staff.language = language
    staff.save(update_fields=["language"])
    client = Client(headers={"Accept-Language": language}, raise_request_exception=False)
    log_in_with_second_step(client, staff)
    return client


def test_every_registered_model_has_an_object_to_walk(desk: dict[str, Any]) -> None:
    assert unmade_models() == [], "every_kind() (tests/admin_pages.py) makes no object of these"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_admin_page_is_a_server_error(desk: dict[str, Any], staff: User, language: str) -> None:
    client = _staff_client(staff, language)
    failures, opened = [], 0
    for url in admin_urls():
        response = client.get(url)
        opened += 1
        if response.status_code >= 500:
            failures.append(_failure("GET", url, response))
        if url.endswith("/") and url.count("/") == 4 and response.status_code == 200:  # a list page
            for filtered in filter_urls(client, url):
                opened += 1
                answer = client.get(filtered)
                if answer.status_code >= 500:
                    failures.append(_failure("GET", filtered, answer))
    assert opened > 100
    assert not failures, f"{len(failures)} of {opened} pages failed:\n" + "\n".join(failures)


@pytest.mark.parametrize("language", LANGUAGES)
def test_saving_every_change_form_unchanged_is_no_server_error(
    desk: dict[str, Any], staff: User, language: str
) -> None:
    client = _staff_client(staff, language)
    failures, saved = [], 0
    for url, what in change_forms():
        page = client.get(url)
        if page.status_code != 200 or b'name="_save"' not in page.content:
            continue  # a read-only page: nothing to save
        saved += 1
        response = client.post(url, form_data(page.content.decode()))
        if response.status_code >= 500:
            failures.append(f"{_failure('POST', url, response)} ({what})")
        elif response.status_code == 200 and b"errornote" in response.content:
            failures.append(f"POST {url} -> the unchanged form was refused ({what})")
    assert saved > 5
    assert not failures, f"{len(failures)} of {saved} saves failed:\n" + "\n".join(failures)
