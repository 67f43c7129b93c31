"""The catalogue page and the recommender's trip countries, as a visitor reads them."""

import re

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plans")]  # the demo catalogue


def headings_and_cards(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<h2 id="kind-[^"]+">([^<]+)</h2>|<h3><a href="/plans/([^/]+)/">', page)


def sections(page: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = ""
    for heading, code in headings_and_cards(page):
        if heading:
            current = heading
            found[current] = []
        else:
            found[current].append(code)
    return found


def test_add_on_packs_are_listed_under_their_own_heading_not_under_basic(client):
    page = client.get(reverse("plans:catalogue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    listed = sections(page)
    assert listed["Basic"] == ["basic-10", "basic-30"]
    assert listed["Add-on packs"] == ["topup-5", "roam-hkmo-7", "roam-jpkr-7", "roam-eu-15"]
    assert "Roaming" not in listed  # its packs are all add-ons
    assert list(listed)[-1] == "Add-on packs"


def test_add_on_heading_is_in_chinese_too(client):
    page = client.get(reverse("plans:catalogue"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    listed = sections(page)
    assert "topup-5" not in listed["基础套餐"]
    assert "topup-5" in listed["加油包"]


def test_currency_buttons_read_as_symbols(client):
    page = client.get(reverse("plans:catalogue") + "?currency=HKD", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    buttons = re.findall(r'<a href="\?currency=(\w+)" title="\w+"( aria-current="true")?>([^<]+)</a>', page)
    assert buttons == [("CNY", "", "¥"), ("HKD", ' aria-current="true"', "HK$"), ("USD", "", "US$")]


def trip_countries(page: str) -> list[str]:
    select = re.search(r'<select name="trip1_country".*?</select>', page, re.S)
    assert select is not None
    return re.findall(r'<option value="\w+"[^>]*>([^<]+)</option>', select.group(0))


def test_trip_countries_are_sorted_by_their_english_names(client):
    names = trip_countries(client.get(reverse("plans:recommend"), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert len(names) == 22
    assert names == sorted(names)
    assert names[:3] == ["Austria", "Belgium", "Czechia"]
    assert names[-1] == "United Kingdom"


def test_trip_countries_are_sorted_by_their_chinese_names(client):
    names = trip_countries(client.get(reverse("plans:recommend"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode())
    assert len(names) == 22
    assert "日本" in names
    # Code-point order of the Chinese names: stable, if not pinyin order.
    assert names == sorted(names)
