"""Rate limits per client address (and per signing key on the usage API): each is hit, answered
with a clear 429, and released when its window ends. Also django-axes' lockout and its cool-off."""

import json
import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import lockout
from accounts.models import User
from boomcard import ratelimit
from boomcard.ratelimit import client_address, rate_limit_hit
from plans.signing import usage_signature
from tests.factories import PASSWORD, LineFactory, UserFactory
from tests.security.helpers import app_code, authenticator_for
from tests.sms import code_in

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:login_code")
REGISTER = reverse("accounts:register")
RESET = reverse("accounts:password_reset")
USAGE_API = reverse("plans:api_usage")


@pytest.fixture
def limits(settings):
    """``limits(login="3/m")``: set some limits for the test."""

    def set_limits(**rates: str) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}

    return set_limits


def browser(address: str = "127.0.0.1") -> Client:
    return Client(headers={"Accept-Language": "en"}, REMOTE_ADDR=address)


def register(client: Client, phone: str):
    return client.post(
        REGISTER, {"phone": phone, "email": "", "password1": "blue-River-1987!", "password2": "blue-River-1987!"}
    )


def test_default_limits():
    from django.conf import settings

    assert settings.RATE_LIMITS == {
        "login": "20/m",
        "staff_login": "20/m",
        "sms": "10/h",
        "password_reset": "10/h",
        "usage_api": "120/m",
    }


# --- Log-in ---------------------------------------------------------------------------------


def test_log_in_posts_from_one_address_are_capped_per_minute(limits, clock):
    limits(login="3/m")
    UserFactory.create(phone="+8613800138000")
    client = browser()
    for _ in range(3):
        assert client.post(LOGIN, {"username": "13800138000", "password": "wrong-guess"}).status_code == 200
    refused = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many tries" in refused.content.decode()
    assert "Please try again in 1 minute." in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session
    # Another address is not held up.
    assert browser("10.0.0.2").post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 302
    # The next minute, this address may try again.
    clock.shift(61)
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 302


def test_code_step_posts_count_against_the_log_in_cap(limits, clock):
    limits(login="2/m")
    customer = UserFactory.create(phone="+8613800138000")
    device = authenticator_for(customer)
    client = browser()
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})["Location"] == CODE
    clock.shift(1)
    assert client.post(CODE, {"code": "12345678"}).status_code == 200
    clock.shift(2)
    assert client.post(CODE, {"code": app_code(device)}).status_code == 429
    clock.shift(60)
    assert client.post(CODE, {"code": app_code(device)})["Location"] == reverse("plans:home")


def test_ipv6_addresses_count_by_their_64(limits, clock):
    limits(login="2/m")
    assert browser("2001:db8::1").post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 200
    assert browser("2001:db8::2").post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 200
    assert browser("2001:db8::3").post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 429
    assert browser("2001:db8:0:1::1").post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 200


def test_lockout_after_wrong_passwords_is_released_after_the_cool_off(clock):
    """django-axes: five wrong passwords lock the number from that address for 15 minutes
    (tests/security/test_lockout.py has the rest)."""
    UserFactory.create(phone="+8613800138000")
    client = browser("10.1.1.1")
    statuses = [
        client.post(LOGIN, {"username": "13800138000", "password": "wrong-guess"}).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    locked = client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})
    assert locked.status_code == 429
    assert "15 minutes" in locked.content.decode()
    clock.shift(timedelta(minutes=14))
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 429
    # A try while locked starts the cool-off again (django-axes' default): the address trying keeps
    # itself locked out.
    clock.shift(timedelta(minutes=14))
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 429
    clock.shift(timedelta(minutes=16))
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 302


# --- SMS codes ------------------------------------------------------------------------------


def test_sms_codes_asked_for_from_one_address_are_capped_per_hour(limits, clock, sms_outbox):
    limits(sms="2/h")
    client = browser()
    assert register(client, "13911110001")["Location"] == reverse("accounts:verify")
    assert register(client, "13911110002")["Location"] == reverse("accounts:verify")
    refused = register(client, "13911110003")
    assert refused.status_code == 429
    # Windows follow the clock: the hour ends at the next full hour.
    assert re.search(
        r"Too many codes were asked for from your network\. Please try again in \d+ minutes?\.",
        refused.content.decode(),
    )
    assert [message.to for message in sms_outbox] == ["+8613911110001", "+8613911110002"]
    assert not User.objects.filter(phone="+8613911110003").exists()
    assert register(browser("10.0.0.2"), "13911110004").status_code == 302
    clock.shift(timedelta(hours=1))
    assert register(client, "13911110003").status_code == 302
    assert sms_outbox[-1].to == "+8613911110003"


def test_one_sms_cap_covers_registration_new_codes_password_reset_and_adding_a_line(limits, clock, sms_outbox):
    limits(sms="3/h")
    client = browser()
    register(client, "13911110001")
    clock.shift(61)
    client.post(reverse("accounts:verify_resend"))
    existing = UserFactory.create(phone="+8613800138000")
    client.post(RESET, {"phone": "13800138000"})
    assert len(sms_outbox) == 3

    line = LineFactory.create()
    client.force_login(existing)
    refused = client.post(reverse("plans:line_add"), {"msisdn": str(line.msisdn)})
    assert refused.status_code == 429
    assert "Too many codes were asked for from your network" in refused.content.decode()
    assert len(sms_outbox) == 3
    clock.shift(timedelta(hours=1))
    client.force_login(existing)  # the idle limit logged them out meanwhile
    assert client.post(reverse("plans:line_add"), {"msisdn": str(line.msisdn)}).status_code == 302
    assert sms_outbox[-1].to == line.msisdn.as_e164


def test_new_code_refused_by_the_cap_says_so_on_the_page(limits, clock, sms_outbox):
    limits(sms="1/h")
    client = browser()
    register(client, "13911110001")
    clock.shift(61)
    response = client.post(reverse("accounts:verify_resend"), follow=True)
    assert "Too many codes were asked for from your network" in response.content.decode()
    assert len(sms_outbox) == 1
    code = code_in(sms_outbox[0])
    # The code already sent still works.
    assert client.post(reverse("accounts:verify"), {"code": code})["Location"] == reverse("plans:home")


# --- Password reset -------------------------------------------------------------------------


def test_password_reset_requests_from_one_address_are_capped_per_hour(limits, clock, sms_outbox):
    limits(password_reset="2/h")
    client = browser()
    # Unknown numbers: nothing is sent, but the requests count.
    assert client.post(RESET, {"phone": "13911110001"}).status_code == 302
    assert client.post(RESET, {"phone": "13911110002"}).status_code == 302
    refused = client.post(RESET, {"phone": "13911110003"})
    assert refused.status_code == 429
    assert "Too many password resets were asked for from your network" in refused.content.decode()
    assert sms_outbox == []
    clock.shift(timedelta(hours=1))
    assert client.post(RESET, {"phone": "13911110003"}).status_code == 302


# --- The usage API --------------------------------------------------------------------------

KEY = "network-key"


def post_usage(client: Client, *, key: str = KEY, signed: bool = True):
    body = json.dumps({"records": []}).encode()
    stamp = str(int(time.time()))
    headers = {"X-Boom-Timestamp": stamp}
    if signed:
        headers["X-Boom-Signature"] = usage_signature(
            key=key, timestamp=stamp, method="POST", path=USAGE_API, body=body
        )
    return client.post(USAGE_API, body, content_type="application/json", headers=headers)


@pytest.fixture
def usage_keys(settings):
    settings.USAGE_API_KEYS = [KEY, "other-network-key"]


def test_usage_api_is_capped_per_address(limits, clock, usage_keys):
    limits(usage_api="3/m")
    network = browser("192.0.2.10")
    assert [post_usage(network).status_code for _ in range(3)] == [200, 200, 200]
    refused = post_usage(network)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("too many requests; try again in ")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["retry_after"] == int(refused["Retry-After"])
    clock.shift(61)
    assert post_usage(network).status_code == 200


def test_usage_api_counts_unsigned_requests_too(limits, clock, usage_keys):
    limits(usage_api="3/m")
    stranger = browser("198.51.100.7")
    assert [post_usage(stranger, signed=False).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_usage_api_is_capped_per_signing_key_across_addresses(limits, clock, usage_keys):
    limits(usage_api="3/m")
    first, second = browser("192.0.2.10"), browser("192.0.2.11")
    assert [post_usage(first).status_code, post_usage(first).status_code, post_usage(second).status_code] == [200] * 3
    assert post_usage(second).status_code == 429
    # Another key is counted on its own.
    assert post_usage(browser("192.0.2.12"), key="other-network-key").status_code == 200


def test_batch_status_counts_in_the_same_limit_as_posting(limits, clock, usage_keys):
    limits(usage_api="3/m")
    network = browser("192.0.2.13")
    stamp = str(int(time.time()))
    status_url = reverse("plans:api_usage_batch", args=[1])
    signature = usage_signature(key=KEY, timestamp=stamp, method="GET", path=status_url, body=b"")
    headers = {"X-Boom-Timestamp": stamp, "X-Boom-Signature": signature}

    assert [post_usage(network).status_code, post_usage(network).status_code] == [200, 200]
    assert network.get(status_url, headers=headers).status_code == 404  # no such batch, but counted
    refused = network.get(status_url, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("too many requests; try again in ")
    assert post_usage(network).status_code == 429


# --- The limiter itself ---------------------------------------------------------------------


def test_a_view_decorated_rate_limited_is_answered_429_in_html_or_json(limits, clock, rf):
    """The decorator raises RateLimited past the limit; the middleware alone answers it."""
    from boomcard.ratelimit import RateLimited, RateLimitedMiddleware, rate_limited

    limits(login="1/m")
    calls = []

    @rate_limited("login")
    def view(request):
        calls.append(request)
        return "ran"

    assert view(rf.get("/x", REMOTE_ADDR="10.9.9.9")) == "ran"
    with pytest.raises(RateLimited) as raised:
        view(rf.get("/x", REMOTE_ADDR="10.9.9.9"))
    assert len(calls) == 1
    middleware = RateLimitedMiddleware(lambda request: HttpResponse())
    scripted = rf.get("/x", HTTP_ACCEPT="application/json")
    answer = middleware.process_exception(scripted, raised.value)
    assert isinstance(answer, HttpResponse)
    assert answer.status_code == 429
    assert json.loads(answer.content) == {
        "error": f"too many requests; try again in {raised.value.wait} seconds",
        "retry_after": raised.value.wait,
    }
    assert answer["Retry-After"] == str(raised.value.wait)
    assert middleware.process_exception(scripted, ValueError("other")) is None


def test_limiter_lets_requests_through_when_the_cache_is_down(limits, monkeypatch):
    limits(login="1/m")

    def down(*args, **kwargs):
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(cache, "add", down)
    warned = []
    monkeypatch.setattr(ratelimit.logger, "warning", lambda *args: warned.append(args[0] % args[1:]))
    assert [rate_limit_hit(name="login", key="10.0.0.1") for _ in range(3)] == [0, 0, 0]
    assert warned == ["rate limit login not counted (ConnectionError('Redis is not answering')); request allowed"] * 3
    UserFactory.create(phone="+8613800138000")
    assert browser().post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 302


def test_limiter_answers_the_seconds_left_in_the_window(limits):
    limits(sms="2/h")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    with time_machine.travel(hour + timedelta(minutes=45), tick=False) as traveller:
        assert rate_limit_hit(name="sms", key="k") == 0
        assert rate_limit_hit(name="sms", key="k") == 0
        assert rate_limit_hit(name="sms", key="k") == 15 * 60
        traveller.shift(timedelta(minutes=14, seconds=59, milliseconds=500))
        assert rate_limit_hit(name="sms", key="k") == 1
        traveller.shift(1)
        assert rate_limit_hit(name="sms", key="k") == 0


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy: the header is the client's own say, ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the left entry was forged by the client
        (2, "203.0.113.9, 198.51.100.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: not trusted
        (1, "not-an-address", "10.0.0.1"),
    ],
)
def test_client_address_reads_forwarded_for_only_as_far_as_the_proxies_go(settings, proxies, forwarded, expected):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_axes_locks_the_address_the_proxy_saw(settings, clock, monkeypatch):
    settings.PROXY_COUNT = 1
    proxy_a = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    for _ in range(5):
        proxy_a.post(LOGIN, {"username": "13911110000", "password": "wrong-guess"})
    # The same client through the same proxy is locked out; another client behind it is not.
    assert proxy_a.post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 429
    other = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    monkeypatch.setattr(lockout, "sleep", lambda seconds: None)
    assert other.post(LOGIN, {"username": "13911110000", "password": "y"}).status_code == 200
