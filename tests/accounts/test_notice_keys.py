"""Notice and staff alert keys, byte for byte: rows already stored deduplicate on them."""

import re

from accounts import notice_keys


def test_each_kind_builds_the_key_its_stored_rows_have():
    assert notice_keys.support_received_key(support_request_id=7) == "support-received:7"
    assert notice_keys.low_balance_key(bucket_id=3, threshold=10) == "low-balance:3:10"
    assert notice_keys.order_fulfilled_key(order_id=5) == "order-fulfilled:5"
    assert notice_keys.order_refunded_key(order_id=5) == "order-refunded:5"
    assert notice_keys.order_payment_needed_key(order_id=5) == "order-payment-needed:5"
    assert (
        notice_keys.renewal_reminder_key(line_id=2, expires_at="2026-03-01T00:00:00+00:00", days=7)
        == "reminder:2:2026-03-01T00:00:00+00:00:7"
    )
    assert notice_keys.dispute_alert_key(stripe_dispute_id="dp_1") == "dispute:dp_1"
    assert len(notice_keys.dispute_alert_key(stripe_dispute_id="dp_" + "x" * 200)) == 120


def test_a_security_notice_key_is_fresh_each_time():
    first = notice_keys.security_notice_key(user_id=4, kind="password_changed")
    assert re.fullmatch(r"password_changed:4:[0-9a-f]{32}", first)
    assert first != notice_keys.security_notice_key(user_id=4, kind="password_changed")
