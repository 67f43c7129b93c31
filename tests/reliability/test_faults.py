"""The fault proxy in front of localstripe does what the bank test counts on: it passes, it lets
Stripe act and answers late or never, and when down Stripe does nothing."""

from __future__ import annotations

import time

import pytest
import requests

from tests.reliability.conftest import STRIPE_AUTH, stripe_list
from tests.reliability.faults import StripeProxy, WebhookCollector

pytestmark = pytest.mark.timeout(60)


def _customer(base: str, timeout: float = 10) -> requests.Response:
    return requests.post(f"{base}/v1/customers", data={"phone": "+85251000000"}, auth=STRIPE_AUTH, timeout=timeout)


def _customers(localstripe: str) -> int:
    session = requests.Session()
    session.auth = STRIPE_AUTH
    return len(stripe_list(session, localstripe, "customers"))


def test_proxy_passes_then_answers_late_loses_answers_and_goes_down(localstripe: str) -> None:
    with StripeProxy(localstripe, lifetime=30) as proxy:
        assert _customer(proxy.url).status_code == 200
        assert _customers(localstripe) == 1

        proxy.slow(hold=1.5)
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            _customer(proxy.url, timeout=0.5)
        assert _customers(localstripe) == 2  # Stripe acted though the client gave up
        late = _customer(proxy.url, timeout=5)
        assert late.status_code == 200
        assert time.monotonic() - started >= 0.5 + 1.5

        proxy.lost(hold=0.5)
        with pytest.raises(requests.ConnectionError):
            _customer(proxy.url)
        assert _customers(localstripe) == 4

        proxy.down()
        with pytest.raises(requests.ConnectionError):
            _customer(proxy.url)
        assert _customers(localstripe) == 4  # nothing reached Stripe

        proxy.passing()
        assert _customer(proxy.url).status_code == 200
        assert proxy.requests == {"pass": 2, "slow": 2, "lost": 1, "down": 1}
    with pytest.raises(requests.ConnectionError):
        _customer(proxy.url, timeout=2)  # stopped with its block


def test_collector_keeps_each_body_and_signature() -> None:
    with WebhookCollector(lifetime=30) as collector:
        answer = requests.post(
            collector.url + "/", data=b'{"id": "evt_1"}', headers={"Stripe-Signature": "t=1,v1=x"}, timeout=10
        )
        assert answer.status_code == 200
        [event] = collector.since(0)
    assert (event.body, event.signature) == (b'{"id": "evt_1"}', "t=1,v1=x")
