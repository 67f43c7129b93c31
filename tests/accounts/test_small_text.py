"""Issue 14's small text: what the pages say, once, in both languages."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.test_notices_pages import bell_count, get, support_notice
from tests.factories import LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db
REGISTER = reverse("accounts:register")
VERIFY = reverse("accounts:verify")
LOGIN = reverse("accounts:login")


def chinese_client() -> Client:
    return Client(headers={"Accept-Language": "zh-hans"})


def test_verify_page_says_code_sent_once_and_links_to_change_the_number(client):
    password = "blue-River-1987!"
    client.post(REGISTER, {"phone": "+86 139 1234 5678", "email": "", "password1": password, "password2": password})
    page = client.get(VERIFY).content.decode()
    assert page.count("6-digit code") == 1
    assert f'href="{REGISTER}"' in page
    assert "Change the number" in page


def test_form_labels_end_with_the_full_width_colon_in_chinese():
    page = chinese_client().get(REGISTER).content.decode()
    assert "手机号码：</label>" in page
    assert ":</label>" not in page


def test_password_change_page_says_nin_not_ni():
    chinese = chinese_client()
    chinese.force_login(UserFactory.create(language="zh-hans"))
    page = chinese.get(reverse("accounts:password_change")).content.decode()
    assert 'name="new_password1"' in page
    assert "你" not in page


def test_logging_out_says_so_on_the_log_in_page(client):
    client.force_login(UserFactory.create())
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You are logged out." in response.content.decode()

    chinese = chinese_client()
    chinese.force_login(UserFactory.create(language="zh-hans"))
    assert "您已退出登录。" in chinese.post(reverse("accounts:logout"), follow=True).content.decode()


def test_notices_page_bell_counts_what_is_unread_after_the_page_marks_them_read(client):
    customer = UserFactory.create()
    support_notice(customer, "S000001", 5)
    support_notice(customer, "S000002", 1)
    client.force_login(customer)
    assert bell_count(get(client, "accounts:support")) == 2

    page = get(client, "accounts:notices")
    assert page.count("notice-unread") == 2
    assert bell_count(page) == 0


def test_each_line_cards_links_name_the_line_they_are_for(client):
    customer = UserFactory.create()
    LineFactory.create(owned=True, owner=customer, nickname="Mum's phone", plan=PlanFactory.create())
    other = LineFactory.create(owned=True, owner=customer, nickname="")
    client.force_login(customer)
    page = client.get(reverse("plans:home")).content.decode()
    assert 'aria-label="Renew Mum&#x27;s phone"' in page
    assert 'aria-label="Details and eSIM of Mum&#x27;s phone"' in page
    assert f'aria-label="Choose a plan for {other.msisdn}"' in page
    assert f'aria-label="Details and eSIM of {other.msisdn}"' in page


def test_failed_log_in_marks_both_fields_invalid_and_points_them_at_the_error(client):
    UserFactory.create(phone="+8613800138000")
    page = client.post(LOGIN, {"username": "13800138000", "password": "not-it-at-all"}).content.decode()
    assert 'id="form-errors"' in page
    for name in ("username", "password"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert tag is not None
        assert 'aria-invalid="true"' in tag.group(0)
        assert 'aria-describedby="form-errors"' in tag.group(0)

    page = client.get(LOGIN).content.decode()
    assert "aria-invalid" not in page
