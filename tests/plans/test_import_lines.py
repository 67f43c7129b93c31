from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from plans.models import Line
from tests.factories import LineFactory, UserFactory, iccid

pytestmark = pytest.mark.django_db
HEADER = "msisdn,iccid,eid,smdp_address,matching_id\n"


def write_csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "lines.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def run(path: Path) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_lines", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_good_file_imports_every_row_and_a_second_run_changes_nothing(tmp_path):
    path = write_csv(
        tmp_path,
        f"+85251240001,{iccid(1)},,smdp.boom.example,M-1\n+852 5124 0002,{iccid(2)},{'8' * 32},smdp.boom.example,M-2\n",
    )
    out, err, error = run(path)
    assert error is None, err
    assert "2 created" in out
    assert Line.objects.filter(status=Line.Status.AVAILABLE, owner=None).count() == 2
    assert Line.objects.get(iccid=iccid(2)).msisdn == "+85251240002"

    out, err, error = run(path)
    assert error is None
    assert "0 created, 0 updated, 2 unchanged, 0 rejected" in out
    assert Line.objects.count() == 2


def test_bad_rows_are_reported_with_their_row_numbers_and_good_rows_kept(tmp_path):
    bad_check_digit = iccid(3)[:-1] + str((int(iccid(3)[-1]) + 1) % 10)
    path = write_csv(
        tmp_path,
        f"+85251240003,{iccid(4)},,smdp.boom.example,M-4\n"  # row 2: good
        f"+85251240004,{bad_check_digit},,smdp.boom.example,M-5\n"  # row 3: Luhn
        f"not-a-number,{iccid(5)},,smdp.boom.example,M-6\n"  # row 4: msisdn
        f"+85251240006,{iccid(6)},123,smdp.boom.example,M-7\n"  # row 5: EID
        f"+85251240007,{iccid(7)},,,M-8\n"  # row 6: no SM-DP+
        f"+85251240008,{iccid(4)},,smdp.boom.example,M-9\n"  # row 7: repeats row 2
        f"+85251240009,{iccid(8)},,smdp.boom.example,M-10\n",  # row 8: good
    )
    out, err, error = run(path)
    assert error is not None
    assert "2 created" in out
    assert "5 rejected" in out
    assert "row 3: iccid: This ICCID's check digit is wrong." in err
    assert "row 4: msisdn:" in err
    assert "row 5: eid: An EID is 32 digits." in err
    assert "row 6: smdp_address:" in err
    assert "row 7: ICCID repeats row 2." in err
    assert set(Line.objects.values_list("iccid", flat=True)) == {iccid(4), iccid(8)}


def test_number_already_used_by_another_line_is_refused(tmp_path):
    LineFactory.create(msisdn="+85251240010")
    path = write_csv(tmp_path, f"+85251240010,{iccid(9)},,smdp.boom.example,M-11\n")
    _, err, error = run(path)
    assert error is not None
    assert "row 2: msisdn:" in err
    assert not Line.objects.filter(iccid=iccid(9)).exists()


def test_changing_a_line_a_customer_holds_is_refused(tmp_path):
    LineFactory.create(msisdn="+85251240011", iccid=iccid(10), matching_id="OLD", owner=UserFactory.create())
    path = write_csv(tmp_path, f"+85251240011,{iccid(10)},,smdp.boom.example,NEW\n")
    _, err, error = run(path)
    assert error is not None
    assert "belongs to a customer" in err
    assert Line.objects.get(iccid=iccid(10)).matching_id == "OLD"


def test_unassigned_line_is_updated_from_a_corrected_file(tmp_path):
    LineFactory.create(msisdn="+85251240012", iccid=iccid(11), matching_id="OLD")
    out, _, error = run(write_csv(tmp_path, f"+85251240012,{iccid(11)},,smdp.boom.example,NEW\n"))
    assert error is None
    assert "1 updated" in out
    assert Line.objects.get(iccid=iccid(11)).matching_id == "NEW"


def test_file_without_the_needed_columns_is_refused(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text("number,iccid\n+85251240013,1\n")
    _, _, error = run(path)
    assert error is not None
    assert "msisdn" in str(error)
    assert Line.objects.count() == 0


def test_missing_file_is_a_clear_error(tmp_path):
    _, _, error = run(tmp_path / "nope.csv")
    assert error is not None
    assert "Cannot read" in str(error)


def bad_eid_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path,
        f"+85251240020,{iccid(20)},,smdp.boom.example,M-20\n+85251240021,{iccid(21)},123,smdp.boom.example,M-21\n",
    )


def test_the_report_is_in_the_language_asked_for(tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_lines", str(bad_eid_file(tmp_path)), "--language", "zh-hans", stdout=out, stderr=err)
    assert "新建 1 条，更新 0 条，未变 0 条，拒绝 1 条" in out.getvalue()
    assert "第 3 行：eid: EID 应为 32 位数字。" in err.getvalue()
    assert "1 行被拒绝" in str(error.value)


@pytest.mark.parametrize(
    ("lang", "summary"), [("en_GB.UTF-8", "1 created"), ("zh_CN.UTF-8", "新建 1 条"), ("C", "1 created")]
)
def test_without_language_the_shell_locale_decides_not_the_site_default(tmp_path, monkeypatch, lang, summary):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", lang)
    # As from a shell: the site's own language (Chinese) is active, not the tests' English.
    with translation.override("zh-hans"):
        out, _, error = run(bad_eid_file(tmp_path))
    assert error is not None
    assert summary in out


def test_a_dry_run_reports_what_would_happen_and_saves_nothing(tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_lines", str(bad_eid_file(tmp_path)), "--dry-run", stdout=out, stderr=err)
    assert "Dry run, nothing saved: 1 created, 0 updated, 0 unchanged, 1 rejected" in out.getvalue()
    assert "row 3: eid: An EID is 32 digits." in err.getvalue()
    assert "1 row would be rejected." in str(error.value)
    assert Line.objects.count() == 0


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_bytes(HEADER.encode("utf-16"))
    _, _, error = run(path)
    assert error is not None
    assert "not UTF-8" in str(error)
