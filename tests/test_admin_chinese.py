"""The admin in Chinese is Chinese: every heading, field label, column, filter title, fieldset,
app and model name on every page (the front page, each app, each list, each add, change and
history page, for an object of every kind) is translated. An English word left in one of them
("AXES", "Public id", "以 status", "短信验证码s") fails the test, naming the page and the string."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.contrib import admin
from django.test import Client
from django.utils import translation

from accounts.models import User
from plans.models import Plan
from tests.admin_pages import admin_urls, every_kind
from tests.security.helpers import log_in_with_second_step

# Words that are the same in Chinese: codes, units, currencies and names.
KEPT = {
    "ICCID", "EID", "SMS", "ID", "MB", "GB", "SM", "DP", "Stripe", "Boom", "IP", "URL", "CNY", "HKD", "USD",
    "eSIM", "QR", "Email", "email", "Alipay", "WeChat", "Pay", "CSV", "PDF", "API", "TOTP", "admin", "GET",
    "POST", "HTTP", "Accept", "Unix", "SHA", "ISO", "JP", "KR", "Control", "Command", "Mac",
}  # fmt: skip
ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
# "短信验证码s": an English plural "s" stuck to a Chinese name; "以 status": a filter title left in English.
PLURAL_AFTER_CHINESE = re.compile(r"[\u4e00-\u9fff][a-z]\b")

LABEL_TAGS = {"h1", "label", "caption", "summary", "legend", "title"}


class _Labels(HTMLParser):
    """The text of the page's headings and labels, not of the data they label."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[str] = []
        self.stack: list[tuple[str, bool]] = []
        self.text: list[list[str]] = []
        self.in_thead = 0
        self.in_app = 0
        self.in_action_select = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        classes = a.get("class", "").split()
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        if tag == "thead":
            self.in_thead += 1
        if tag == "div" and any(name.startswith("app-") for name in classes):
            self.in_app += 1
            self.stack.append(("div-app", False))
            self.text.append([])
            return
        if tag == "select" and a.get("name") == "action":
            self.in_action_select = True
        collect = (
            tag in LABEL_TAGS
            or (tag == "th" and (self.in_thead > 0 or (self.in_app > 0 and a.get("scope") == "row")))
            or (tag == "h2" and bool({"fieldset-heading", "inline-heading"} & set(classes)))
            or (tag == "h3" and not classes)
            or (tag == "option" and self.in_action_select)
            or (tag == "div" and "help" in classes)
        )
        self.stack.append((tag, collect))
        self.text.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self.in_thead -= 1
        if tag == "select":
            self.in_action_select = False
        while self.stack:
            open_tag, collect = self.stack.pop()
            words = "".join(self.text.pop())
            if self.text:
                self.text[-1].append(words)
            if collect and words.strip():
                self.labels.append(" ".join(words.split()))
            if open_tag == "div-app":
                self.in_app -= 1
            if open_tag == tag or (open_tag == "div-app" and tag == "div"):
                break

    def handle_data(self, data: str) -> None:
        if self.text:
            self.text[-1].append(data)


def untranslated(label: str) -> list[str]:
    """What in a label reads as English."""
    found = [word for word in ASCII_WORD.findall(label) if word not in KEPT]
    found += PLURAL_AFTER_CHINESE.findall(label)
    return found


def labels(html: str) -> list[str]:
    reader = _Labels()
    reader.feed(html)
    return reader.labels


def test_the_admin_in_chinese_has_no_english_left(
    client: Client, staff: User, customer: User, plans: dict[str, Plan]
) -> None:
    every_kind(staff=staff, customer=customer, plans=plans)
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    client = Client(headers={"Accept-Language": "zh-hans"})
    log_in_with_second_step(client, staff)
    # Object names are data, not labels (a change page's title holds one): left out, longest first.
    with translation.override("zh-hans"):
        names = {str(obj) for model in admin.site._registry for obj in model._default_manager.all()}
    data = sorted((name for name in names if name), key=len, reverse=True)

    found: dict[str, set[str]] = {}
    pages = 0
    for url in admin_urls(objects_per_model=2):
        if "?q=" in url:
            continue
        response = client.get(url)
        if response.status_code != 200:
            continue
        pages += 1
        for label in labels(response.content.decode()):
            for name in data:
                label = label.replace(name, "")
            words = untranslated(label)
            if words:
                found.setdefault(f"{label!r} ({', '.join(words)})", set()).add(url)

    assert pages > 50
    report = [f"{label} on {len(urls)} page(s), e.g. {sorted(urls)[0]}" for label, urls in sorted(found.items())]
    print("\n".join(report))
    assert not found, f"{len(found)} labels are not in Chinese:\n" + "\n".join(report)
