"""Staff find a customer in the admin by their number however it is written, with the reader the
log-in uses (accounts.phones.parse_phone)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.admin.search import phone_search_q
from accounts.models import User
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

SPELLINGS = [
    "138-0013-8000",
    "13800138000",
    "0086 138 0013 8000",
    "(+86) 138 0013 8000",
    "+86 138 0013 8000",
    "+8613800138000",
    " 138 0013 8000 ",
]


def found(client, term: str) -> list[int]:
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": term})
    assert response.status_code == 200
    return sorted(user.pk for user in response.context["cl"].result_list)


@pytest.fixture
def someone_else(db) -> User:
    return UserFactory.create(phone="+8613900139000", email="other@example.com")


@pytest.mark.parametrize("term", SPELLINGS)
def test_each_way_of_writing_the_number_finds_the_customer_and_only_them(client, staff, customer, someone_else, term):
    log_in_with_second_step(client, staff)
    assert found(client, term) == [customer.pk]


def test_a_part_of_the_number_finds_the_customer(client, staff, customer, someone_else):
    log_in_with_second_step(client, staff)
    assert found(client, "0013 8000") == [customer.pk]


def test_email_and_staff_name_search_still_work(client, staff, customer, someone_else):
    log_in_with_second_step(client, staff)
    assert found(client, "other@example") == [someone_else.pk]
    assert found(client, "ops") == [staff.pk]


def test_a_number_of_nobody_finds_nobody(client, staff, customer):
    log_in_with_second_step(client, staff)
    assert found(client, "137-0000-0000") == []


def test_text_that_is_not_a_number_adds_no_phone_filter():
    assert phone_search_q(["phone"], "alice") is None
    assert phone_search_q(["phone"], "12") is None
    assert phone_search_q([], "13800138000") is None


def test_a_number_is_looked_up_through_a_relation_too():
    query = phone_search_q(["owner__phone"], "(+86) 138 0013 8000")
    assert query is not None
    assert ("owner__phone", "+8613800138000") in query.children
