"""Bad records in a batch: each rejected naming its field and reason, the good ones kept."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from plans.models import MB, UsageRecord
from plans.usage import MAX_BATCH, BatchTooLarge, usage_ingest, usage_records_check
from tests.factories import LineFactory
from tests.plans.usage_ingest.records import bucket, record, used

pytestmark = pytest.mark.django_db


def test_batch_with_bad_records_keeps_the_good_ones():
    line = LineFactory.create()
    home = bucket(line)

    report = usage_ingest(
        records=[
            record(line, id="good-1", amount=MB),
            record(line, id="bad", amount=-1),
            record(line, id="good-2", amount=2 * MB),
            record(line, id="nobody", msisdn="+85251999999"),
        ]
    )

    assert (report.accepted, report.duplicate, report.rejected) == (2, 0, 2)
    assert [error.as_dict() for error in report.errors] == [
        {"id": "bad", "index": 1, "field": "amount", "reason": "amount must not be negative"},
        {"id": "nobody", "index": 3, "field": "msisdn", "reason": "unknown line"},
    ]
    assert used(home).data_used == 3 * MB
    assert set(UsageRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"id": None}, "id", "id is missing"),
        ({"id": ""}, "id", "id is missing"),
        ({"id": "x" * 65}, "id", "id is longer than 64 characters"),
        ({"id": ["r"]}, "id", "id must be a string"),
        ({"id": "r\x00"}, "id", "id must be printable text"),
        ({"iccid": "89852030000000000001"}, "msisdn", "give msisdn or iccid, not both"),
        ({"msisdn": None}, "msisdn", "msisdn or iccid is required"),
        ({"msisdn": "call me"}, "msisdn", "msisdn is not a phone number"),
        ({"msisdn": 85251000000}, "msisdn", "msisdn must be a string"),
        ({"msisdn": None, "iccid": "8985"}, "iccid", "iccid must be 19 or 20 digits"),
        ({"kind": "mms"}, "kind", "kind must be data, voice or sms"),
        ({"kind": None}, "kind", "kind must be data, voice or sms"),
        ({"amount": -5}, "amount", "amount must not be negative"),
        ({"amount": 1.5}, "amount", "amount must be a whole number"),
        ({"amount": "100"}, "amount", "amount must be a whole number"),
        ({"amount": True}, "amount", "amount must be a whole number"),
        ({"amount": None}, "amount", "amount is missing"),
        ({"amount": 10**13 + 1}, "amount", "amount must not exceed 10000000000000 for data"),
        ({"kind": "sms", "amount": 10**4 + 1}, "amount", "amount must not exceed 10000 for sms"),
        ({"country": "XX"}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"country": "JPN"}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"country": None}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"at": None}, "at", "time is missing"),
        ({"at": "yesterday"}, "at", "time is not ISO 8601"),
        ({"at": 1700000000}, "at", "time must be an ISO 8601 string"),
        ({"at": "2025-03-01T10:00:00"}, "at", "time needs a UTC offset"),
        ({"at": "0001-01-01T00:00:00+01:00"}, "at", "time is out of range"),
    ],
)
def test_bad_record_is_rejected_naming_its_field_and_reason(change, field, reason):
    line = LineFactory.create()
    bad = record(line, **change)

    report = usage_ingest(records=[bad])

    assert report.accepted == 0
    assert [(error.index, error.field, error.reason) for error in report.errors] == [(0, field, reason)]
    assert not UsageRecord.objects.exists()


def test_time_more_than_five_minutes_ahead_is_rejected_and_less_is_kept():
    line = LineFactory.create()
    now = timezone.now()

    report = usage_ingest(
        records=[
            record(line, id="ahead", at=now + timedelta(minutes=5, seconds=1)),
            record(line, id="skew", at=now + timedelta(minutes=4)),
        ],
        now=now,
    )

    assert [(error.id, error.reason) for error in report.errors] == [("ahead", "time is more than 5 minutes ahead")]
    assert report.accepted == 1


def test_time_in_another_offset_and_lowercase_country_are_understood():
    line = LineFactory.create()
    at = (timezone.now() - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(8 * 60))

    usage_ingest(records=[record(line, id="hk", at=at.isoformat(), country="jp")])

    stored = UsageRecord.objects.get(record_id="hk")
    assert stored.at == at
    assert stored.country == "JP"


def test_numeric_id_is_kept_as_text():
    line = LineFactory.create()

    usage_ingest(records=[record(line, id=42)])

    assert UsageRecord.objects.filter(record_id="42").exists()


def test_more_than_5000_records_is_refused_by_the_service():
    with pytest.raises(BatchTooLarge):
        usage_ingest(records=[{}] * (MAX_BATCH + 1))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
_GOOD = {
    "id": "r-1",
    "msisdn": "+85251000001",
    "kind": "data",
    "amount": 1,
    "country": "HK",
    "at": "2025-01-01T00:00:00+08:00",
}
_text_like = st.sampled_from(["", "+85251000001", "8985203000000000001", "data", "sms", "JP", "2025-01-01T00:00"])
_mangled = st.dictionaries(
    st.sampled_from([*_GOOD, "iccid"]), _json | _text_like | st.integers(min_value=-(2**70), max_value=2**70)
)


@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_mangled.map(lambda changes: {**_GOOD, **changes}), max_size=5))
def test_any_records_are_checked_without_an_exception(records):
    good, errors = usage_records_check(records=records, now=timezone.now())
    assert len(good) + len(errors) == len(records)
    assert all(error.field in {*_GOOD, "iccid"} for error in errors)
