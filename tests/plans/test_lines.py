import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from plans.models import Line
from plans.validators import luhn_check_digit, luhn_valid, validate_iccid
from tests.factories import LineFactory, UserFactory, iccid
from tests.sms import code_in

pytestmark = pytest.mark.django_db
ADD = reverse("plans:line_add")
CONFIRM = reverse("plans:line_add_confirm")


def test_customer_adds_a_line_by_entering_the_code_sent_to_that_line(client, sms_outbox):
    customer = UserFactory.create()
    line = LineFactory.create(msisdn="+85251230001")
    client.force_login(customer)

    response = client.post(ADD, {"msisdn": "+852 5123 0001"})
    assert response["Location"] == CONFIRM
    assert sms_outbox[-1].to == "+85251230001"

    response = client.post(CONFIRM, {"code": code_in(sms_outbox[-1]), "nickname": "Mum"})
    assert response["Location"] == reverse("plans:home")
    line.refresh_from_db()
    assert line.owner == customer
    assert line.status == Line.Status.ACTIVE
    assert line.nickname == "Mum"
    home = client.get(reverse("plans:home")).content.decode()
    assert "Mum" in home
    assert "+852 5123 0001" in home


def test_someone_elses_line_gets_the_same_answer_as_an_unknown_number(client, sms_outbox):
    LineFactory.create(msisdn="+85251230002", owner=UserFactory.create())
    client.force_login(UserFactory.create())
    owned = client.post(ADD, {"msisdn": "+85251230002"}).content.decode()
    unknown = client.post(ADD, {"msisdn": "+85251230003"}).content.decode()
    assert "not a Boom line that can be added" in owned
    assert "not a Boom line that can be added" in unknown
    assert sms_outbox == []


def test_code_sent_for_one_customer_does_not_give_the_line_to_another(client, sms_outbox):
    line = LineFactory.create(msisdn="+85251230004")
    first, second = UserFactory.create(), UserFactory.create()
    client.force_login(first)
    client.post(ADD, {"msisdn": "+85251230004"})
    code = code_in(sms_outbox[-1])

    other = client.__class__(headers={"Accept-Language": "en"})
    other.force_login(second)
    session = other.session
    session["boom_add_line"] = "+85251230004"
    session.save()
    response = other.post(CONFIRM, {"code": code})
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.owner is None


def test_wrong_code_leaves_the_line_unowned(client, sms_outbox):
    line = LineFactory.create(msisdn="+85251230005")
    client.force_login(UserFactory.create())
    client.post(ADD, {"msisdn": "+85251230005"})
    right = code_in(sms_outbox[-1])
    page = client.post(CONFIRM, {"code": f"{(int(right) + 1) % 1_000_000:06d}"}).content.decode()
    assert "That code is not right" in page
    line.refresh_from_db()
    assert line.owner is None


def test_home_lists_only_the_customers_own_lines(client):
    mine = LineFactory.create(owner=UserFactory.create(), nickname="Mine")
    LineFactory.create(owner=UserFactory.create(), nickname="Theirs")
    client.force_login(mine.owner)
    page = client.get(reverse("plans:home")).content.decode()
    assert "Mine" in page
    assert "Theirs" not in page


def test_luhn_check_digit():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_check_digit("7992739871") == "3"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("8985203000000000001", "iccid_checksum"),
        ("898520300000000", "iccid_format"),
        ("89852030000000000000001", "iccid_format"),
        ("89852030000000000x01", "iccid_format"),
    ],
)
def test_bad_iccid_is_refused(value, code):
    if code == "iccid_checksum":
        assert not luhn_valid(value)
    with pytest.raises(ValidationError) as error:
        validate_iccid(value)
    assert error.value.code == code


def test_good_iccids_of_19_and_20_digits_pass():
    validate_iccid(iccid(42))
    payload = "898520300000000004"
    validate_iccid(payload + luhn_check_digit(payload))


def test_database_refuses_an_owned_line_marked_available():
    line = LineFactory.create(owner=UserFactory.create())
    with pytest.raises(IntegrityError):
        Line.objects.filter(pk=line.pk).update(status=Line.Status.AVAILABLE)


def test_database_refuses_a_short_iccid():
    line = LineFactory.create()
    with pytest.raises(IntegrityError):
        Line.objects.filter(pk=line.pk).update(iccid="123")


def test_activation_code_is_the_lpa_string():
    line = LineFactory.build(smdp_address="smdp.example.com", matching_id="ABC-123")
    assert line.activation_code == "LPA:1$smdp.example.com$ABC-123"


def test_a_notice_and_a_support_request_keep_the_number_of_a_line_deleted_since(client):
    from accounts.emails import delivery_email
    from accounts.models import Notice, SupportRequest
    from accounts.outbox import notice_create

    customer = UserFactory.create()
    line = LineFactory.create(owner=customer, status=Line.Status.ACTIVE, msisdn="+85251230009")
    client.force_login(customer)
    client.post(reverse("accounts:support"), {"topic": "esim", "line": line.pk, "message": "Please help me install it"})
    request = SupportRequest.objects.get(user=customer)
    # The number as the site writes it, as the email showed it when it read the line itself.
    assert "Line: +852 5123 0009" in delivery_email(request.email).body
    notice = notice_create(user=customer, kind=Notice.Kind.LOW_BALANCE, key="probe", line=line, email=False)
    line_pk = line.pk

    line.delete()

    request.refresh_from_db()
    assert notice is not None
    notice.refresh_from_db()
    assert (request.line_ref, request.line_number) == (line_pk, "+852 5123 0009")
    assert (notice.line_ref, notice.line_number) == (line_pk, "+852 5123 0009")
