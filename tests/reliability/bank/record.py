"""What the bank test's clients saw, from many threads, and each request recorded."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from django.urls import resolve


@dataclass
class Record:
    """What the clients saw, from many threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def answer(self, what: str, response: requests.Response | None, error: Exception | None = None) -> None:
        with self.lock:
            if response is None:
                self.statuses[0] += 1
                self.problems.append(f"{what}: no answer ({error!r})")
                return
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what} -> {response.status_code}: {response.text[:300]!r}")

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


@contextmanager
def site_answers_recorded(browser: requests.Session, record: Record) -> Iterator[None]:
    """Record every answer the site gives ``browser`` meanwhile (the pages ``pay_by_card`` opens)."""

    def recorded(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        match = resolve(urlparse(response.url).path)
        record.answer(f"{response.request.method} {match.url_name}", response)

    browser.hooks["response"].append(recorded)
    try:
        yield
    finally:
        browser.hooks["response"].remove(recorded)


def send(record: Record, what: str, call: Callable[[], requests.Response]) -> requests.Response | None:
    try:
        response = call()
    except requests.RequestException as error:
        record.answer(what, None, error)
        return None
    record.answer(what, response)
    return response
