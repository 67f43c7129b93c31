"""Taking back a share of what is left in a bucket (a partial refund): only what is not yet used,
rounded in the customer's favour, never from an expired bucket, dates untouched."""

from datetime import timedelta

import pytest
from django.utils import timezone

from plans.models import MB, Bucket
from plans.services import Allowance, bucket_grant, bucket_share, bucket_take_back_share

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(line, plans) -> Bucket:
    """A fresh basic-10 bucket (10 GB, 100 minutes, 50 SMS), part of it used."""
    made = bucket_grant(line=line, plan=plans["basic-10"])
    Bucket.objects.filter(pk=made.pk).update(data_used=1024 * MB, voice_used=601, sms_used=5)
    made.refresh_from_db()
    return made


def test_a_share_of_what_is_left_is_taken_back_and_used_stays(bucket, line):
    expires_at = bucket.expires_at
    line.refresh_from_db()
    line_expiry = line.expires_at

    taken = bucket_take_back_share(bucket=bucket, part=2, whole=5)

    # 9 GB, 5,399 s and 45 SMS were left: 40 % of each, rounded down.
    assert taken == Allowance(data=9 * 1024 * MB * 2 // 5, voice=5399 * 2 // 5, sms=18)
    bucket.refresh_from_db()
    assert (bucket.data_used, bucket.voice_used, bucket.sms_used) == (1024 * MB, 601, 5)
    assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (
        9 * 1024 * MB - taken.data,
        5399 - taken.voice,
        27,
    )
    assert bucket.expires_at == expires_at
    line.refresh_from_db()
    assert line.expires_at == line_expiry


def test_the_whole_share_takes_back_all_that_is_left(bucket):
    bucket_take_back_share(bucket=bucket, part=7, whole=7)

    bucket.refresh_from_db()
    assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)


def test_an_expired_bucket_gives_nothing_back(bucket):
    later = bucket.expires_at + timedelta(seconds=1)

    assert bucket_share(bucket=bucket, part=1, whole=2, now=later) == Allowance()
    assert not bucket_take_back_share(bucket=bucket, part=1, whole=2, now=later)
    bucket.refresh_from_db()
    assert bucket.sms_left == 45


def test_the_share_read_before_is_what_is_taken(bucket):
    now = timezone.now()

    said = bucket_share(bucket=bucket, part=1520, whole=3800, now=now)

    assert bucket_take_back_share(bucket=bucket, part=1520, whole=3800, now=now) == said
