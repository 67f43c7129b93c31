"""manage.py import_usage: a CSV file of usage records, through the same service as the API."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from plans.models import MB, Bucket, DailyUsage, Line, UsageRecord
from tests.factories import BucketFactory, LineFactory

pytestmark = pytest.mark.django_db
HEADER = "id,msisdn,iccid,kind,amount,country,at\n"


def write_csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def run(path: Path, *args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_usage", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def row(record_id: str, line: Line, kind: str = "data", amount: object = MB, *, by_iccid: bool = False) -> str:
    at = (timezone.now() - timedelta(minutes=10)).isoformat()
    msisdn, iccid = ("", line.iccid) if by_iccid else (line.msisdn.as_e164, "")
    return f"{record_id},{msisdn},{iccid},{kind},{amount},HK,{at}\n"


def balance(bucket: Bucket) -> tuple[int, int, int]:
    bucket.refresh_from_db()
    return bucket.data_used, bucket.voice_used, bucket.sms_used


def test_good_file_is_applied_and_a_second_run_finds_only_duplicates(tmp_path):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    path = write_csv(tmp_path, row("a", line) + row("b", line, "voice", 120) + row("c", line, "sms", 2, by_iccid=True))

    out, err, error = run(path)

    assert error is None, err
    assert "3 accepted, 0 duplicate, 0 rejected" in out
    assert balance(home) == (MB, 120, 2)

    out, err, error = run(path)

    assert error is None, err
    assert "0 accepted, 3 duplicate, 0 rejected" in out
    assert balance(home) == (MB, 120, 2)
    assert UsageRecord.objects.count() == 3
    assert DailyUsage.objects.get(line=line).data == MB


def test_bad_rows_are_reported_with_their_row_numbers_and_good_rows_kept(tmp_path):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    path = write_csv(
        tmp_path,
        row("good-1", line)  # row 2
        + row("neg", line, amount=-5)  # row 3
        + row("half", line, amount="1.5")  # row 4
        + f"both,{line.msisdn.as_e164},{line.iccid},data,1,HK,2025-01-01T00:00:00+00:00\n"  # row 5
        + f",{line.msisdn.as_e164},,data,1,HK,2025-01-01T00:00:00+00:00\n"  # row 6
        + f"nowhere,{line.msisdn.as_e164},,data,1,ZZ,2025-01-01T00:00:00+00:00\n"  # row 7
        + row("good-2", line, amount=2 * MB)  # row 8
        + f"short,{line.msisdn.as_e164}\n",  # row 9
    )

    out, err, error = run(path)

    assert error is not None
    assert "2 accepted, 0 duplicate, 6 rejected" in out
    assert "row 3 (id neg): amount: amount must not be negative" in err
    assert "row 4 (id half): amount: amount must be a whole number" in err
    assert "row 5 (id both): msisdn: give msisdn or iccid, not both" in err
    assert "row 6: id: id is missing" in err
    assert "row 7 (id nowhere): country: unknown country" in err
    assert "row 9 (id short): kind: kind must be data, voice or sms" in err
    assert balance(home)[0] == 3 * MB

    out, _, _ = run(path)

    assert "0 accepted, 2 duplicate, 6 rejected" in out
    assert balance(home)[0] == 3 * MB


def test_file_is_read_in_chunks_with_progress_and_row_numbers_across_chunks(tmp_path):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    path = write_csv(tmp_path, "".join(row(f"r{i}", line, amount=1) for i in range(5)) + row("bad", line, "mms"))

    out, err, error = run(path, "--chunk-size", "2")

    assert error is not None
    assert "5 accepted, 0 duplicate, 1 rejected" in out
    assert "\r2/6 records\r4/6 records\r6/6 records\n" in err
    assert "row 7 (id bad): kind:" in err
    assert balance(home)[0] == 5


def test_unknown_line_is_reported(tmp_path):
    path = write_csv(tmp_path, "x,+85251999997,,data,1,HK,2025-01-01T00:00:00+00:00\n")

    _, err, error = run(path)

    assert error is not None
    assert "row 2 (id x): msisdn: unknown line" in err


def test_only_the_first_rejected_rows_are_listed(tmp_path):
    line = LineFactory.create()
    path = write_csv(tmp_path, "".join(row(f"r{i}", line, amount=-1) for i in range(25)))

    out, err, error = run(path)

    assert error is not None
    assert "25 rejected" in out
    assert "row 21 (id r19)" in err
    assert "row 22 " not in err
    assert "... and 5 more rejected rows" in err


def test_header_in_another_order_with_spaces_is_understood(tmp_path):
    line = LineFactory.create()
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    path = write_csv(
        tmp_path,
        f"a, data , 7, HK,{at},{line.msisdn.as_e164},\n",
        header="id, kind, amount, country, at, msisdn, iccid\n",
    )

    out, err, error = run(path)

    assert error is None, err
    assert "1 accepted" in out
    assert UsageRecord.objects.get(record_id="a").amount == 7


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nothing-here\.csv"):
        call_command("import_usage", str(tmp_path / "nothing-here.csv"), stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("id,msisdn,kind,amount,country,at\n", "the header lacks iccid"),
        ("record,number,type\n", "the header lacks id, msisdn, iccid, kind, amount, country, at"),
        ("", "is empty"),
    ],
)
def test_bad_header_is_a_clear_error(tmp_path, header, message):
    path = write_csv(tmp_path, "", header=header)

    with pytest.raises(CommandError, match=message):
        call_command("import_usage", str(path), stdout=StringIO(), stderr=StringIO())


def test_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_bytes(HEADER.encode() + b"a,\xff\xfe,,data,1,HK,2025-01-01T00:00:00+00:00\n")

    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_usage", str(path), stdout=StringIO(), stderr=StringIO())
