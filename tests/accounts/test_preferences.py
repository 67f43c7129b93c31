"""The preferences page's time-zone list: the customers' common zones first, by name, then the rest."""

import re

import pytest
from django.urls import reverse

from accounts.forms import COMMON_TIME_ZONES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def time_zone_groups(page: str) -> dict[str, list[tuple[str, str]]]:
    select = re.search(r'<select name="time_zone".*?</select>', page, re.S)
    assert select is not None
    return {
        label: re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', options)
        for label, options in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select.group(0), re.S)
    }


def test_common_time_zones_come_first_with_english_names(client):
    client.force_login(UserFactory.create(language="en"))
    groups = time_zone_groups(client.get(reverse("accounts:preferences")).content.decode())
    assert list(groups) == ["Common time zones", "All time zones"]
    common = groups["Common time zones"]
    assert [value for value, _name in common] == list(COMMON_TIME_ZONES)
    assert common[0] == ("Asia/Shanghai", "China (Shanghai)")
    others = [value for value, _name in groups["All time zones"]]
    assert "Europe/Paris" in others
    assert not set(others) & set(COMMON_TIME_ZONES)
    assert others == sorted(others)


def test_common_time_zones_have_chinese_names_and_the_saved_one_is_selected(client):
    client.force_login(UserFactory.create(language="zh-hans", time_zone="Asia/Hong_Kong"))
    page = client.get(reverse("accounts:preferences")).content.decode()
    groups = time_zone_groups(page)
    assert list(groups) == ["常用时区", "所有时区"]
    assert ("Asia/Shanghai", "中国（上海）") in groups["常用时区"]
    assert '<option value="Asia/Hong_Kong" selected>中国香港</option>' in page


def test_a_zone_from_either_group_can_be_saved(client):
    customer = UserFactory.create(language="en")
    client.force_login(customer)
    for zone in ("Asia/Tokyo", "Europe/Paris"):
        response = client.post(reverse("accounts:preferences"), {"language": "en", "time_zone": zone})
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.time_zone == zone
