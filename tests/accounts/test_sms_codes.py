import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import SmsCode
from accounts.sms import SmsMessage
from tests.factories import mobile_number
from tests.sms import code_in

pytestmark = pytest.mark.django_db
PURPOSE = SmsCode.Purpose.REGISTER


def sent_code(outbox: list[SmsMessage]) -> str:
    return code_in(outbox[-1])


def test_code_is_sent_by_sms_and_only_its_keyed_hash_is_stored(sms_outbox):
    phone = mobile_number()
    stored = services.sms_code_send(phone=phone, purpose=PURPOSE)
    code = sent_code(sms_outbox)
    assert sms_outbox[-1].to == phone.as_e164
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_right_code_is_accepted_once(sms_outbox):
    phone = mobile_number()
    services.sms_code_send(phone=phone, purpose=PURPOSE)
    code = sent_code(sms_outbox)
    services.sms_code_check(phone=phone, purpose=PURPOSE, code=code)
    with pytest.raises(ValidationError) as error:
        services.sms_code_check(phone=phone, purpose=PURPOSE, code=code)
    assert error.value.code == "no_code"


def test_code_for_one_purpose_does_not_work_for_another(sms_outbox):
    phone = mobile_number()
    services.sms_code_send(phone=phone, purpose=PURPOSE)
    with pytest.raises(ValidationError):
        services.sms_code_check(phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET, code=sent_code(sms_outbox))


def test_five_wrong_tries_kill_the_code_even_for_the_right_sixth(sms_outbox):
    phone = mobile_number()
    services.sms_code_send(phone=phone, purpose=PURPOSE)
    code = sent_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    messages = []
    for _ in range(5):
        with pytest.raises(ValidationError) as error:
            services.sms_code_check(phone=phone, purpose=PURPOSE, code=wrong)
        messages.append(error.value.messages[0])
    assert "4 tries left" in messages[0]
    assert "1 try left" in messages[3]
    assert "Too many wrong tries" in messages[4]
    with pytest.raises(ValidationError) as error:
        services.sms_code_check(phone=phone, purpose=PURPOSE, code=code)
    assert error.value.code == "too_many_attempts"
    assert SmsCode.objects.get(phone=phone).attempts == 5


def test_code_expires_after_ten_minutes(sms_outbox):
    phone = mobile_number()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.sms_code_send(phone=phone, purpose=PURPOSE)
        traveller.shift(timedelta(minutes=10, seconds=1))
        with pytest.raises(ValidationError) as error:
            services.sms_code_check(phone=phone, purpose=PURPOSE, code=sent_code(sms_outbox))
    assert error.value.code == "expired"


def test_a_new_code_waits_sixty_seconds(sms_outbox):
    phone = mobile_number()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.sms_code_send(phone=phone, purpose=PURPOSE)
        traveller.shift(timedelta(seconds=30))
        with pytest.raises(ValidationError) as error:
            services.sms_code_send(phone=phone, purpose=PURPOSE)
        assert error.value.code == "too_soon"
        assert "31 seconds" in error.value.messages[0]
        traveller.shift(timedelta(seconds=31))
        services.sms_code_send(phone=phone, purpose=PURPOSE)
    assert len(sms_outbox) == 2


def test_a_newer_code_replaces_the_older_one(sms_outbox):
    phone = mobile_number()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        services.sms_code_send(phone=phone, purpose=PURPOSE)
        first = sent_code(sms_outbox)
        traveller.shift(timedelta(seconds=61))
        services.sms_code_send(phone=phone, purpose=PURPOSE)
        second = sent_code(sms_outbox)
        if first != second:
            with pytest.raises(ValidationError):
                services.sms_code_check(phone=phone, purpose=PURPOSE, code=first)
        services.sms_code_check(phone=phone, purpose=PURPOSE, code=second)


def test_at_most_five_codes_an_hour_per_number(sms_outbox):
    phone = mobile_number()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(5):
            services.sms_code_send(phone=phone, purpose=PURPOSE)
            traveller.shift(timedelta(seconds=61))
        with pytest.raises(ValidationError) as error:
            services.sms_code_send(phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET)
        assert error.value.code == "too_many"
        traveller.shift(timedelta(hours=1))
        services.sms_code_send(phone=phone, purpose=PURPOSE)
    assert len(sms_outbox) == 6


def test_sms_is_written_in_the_language_asked_for(sms_outbox):
    services.sms_code_send(phone=mobile_number(), purpose=PURPOSE, language="zh-hans")
    assert "验证码" in sms_outbox[-1].body


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        import json

        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Gateway.received.append({"auth": self.headers["Authorization"], "json": json.loads(body)})
        self.send_response(_Gateway.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sms_gateway(settings) -> Iterator[type[_Gateway]]:
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.received = []
    _Gateway.status = 200
    settings.SMS_BACKEND = "accounts.sms.HttpBackend"
    settings.SMS_API_URL = f"http://127.0.0.1:{server.server_address[1]}/send"
    settings.SMS_API_KEY = "gateway-key"
    yield _Gateway
    server.shutdown()


def test_http_backend_posts_to_the_gateway_with_its_key(sms_gateway):
    phone = mobile_number()
    services.sms_code_send(phone=phone, purpose=PURPOSE)
    [request] = sms_gateway.received
    assert request["auth"] == "Bearer gateway-key"
    assert request["json"]["to"] == phone.as_e164
    assert re.search(r"\b\d{6}\b", request["json"]["text"])


def test_gateway_failure_stores_no_code_and_says_so(sms_gateway):
    sms_gateway.status = 503
    phone = mobile_number()
    with pytest.raises(ValidationError) as error:
        services.sms_code_send(phone=phone, purpose=PURPOSE)
    assert error.value.code == "sms_failed"
    assert not SmsCode.objects.filter(phone=phone).exists()
