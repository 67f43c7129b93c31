"""The flexible plan on the renewal page: its price for the amounts chosen, from the server, and
errors that say what to do, at the top of the form, in the customer's language."""

import pytest
from django.urls import reverse

from billing.models import Order
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_renewal_page_shows_the_price_of_the_default_amounts(client, customer, line):
    client.force_login(customer)
    page = client.get(reverse("billing:renew", args=[line.pk])).content.decode()
    # ¥5.00 + 20 GB × ¥2.50 + 2 × ¥5.00 per 100 minutes
    assert 'id="flex-price" aria-live="polite" data-unpriced="—">¥65.00<' in page
    assert f'data-price-url="{reverse("billing:renew_price", args=[line.pk])}"' in page
    assert "js/flex_price.js" in page
    assert 'role="alert"' not in page


def test_price_endpoint_prices_the_amounts_asked(client, customer, line):
    client.force_login(customer)
    url = reverse("billing:renew_price", args=[line.pk])
    answer = client.get(url, {"data_gb": 50, "minutes": 300})
    assert answer.status_code == 200
    assert answer.json() == {"amount_minor": 14500, "currency": "CNY", "display": "¥145.00"}
    assert client.get(url, {"data_gb": 1, "minutes": 0}).json()["amount_minor"] == 750


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"data_gb": 500, "minutes": 200}, "data_gb", "Choose between 1 and 100 GB."),
        ({"data_gb": "lots", "minutes": 200}, "data_gb", "Enter the data as a whole number of GB."),
        ({"data_gb": 20, "minutes": 150}, "minutes", "Enter a whole multiple of 100 minutes."),
        ({"data_gb": 20, "minutes": 5000}, "minutes", "Choose between 0 and 1000 minutes."),
        ({"data_gb": 20, "minutes": "1.5"}, "minutes", "Enter the minutes as a whole number."),
        # Too long a number for Django's own step check: a message, not a server error.
        ({"data_gb": 20, "minutes": "9" * 400}, "minutes", "Choose between 0 and 1000 minutes."),
        ({"data_gb": 20}, "minutes", "Choose how many minutes you want."),
    ],
)
def test_price_endpoint_names_the_wrong_field(client, customer, line, query, field, message):
    client.force_login(customer)
    answer = client.get(reverse("billing:renew_price", args=[line.pk]), query)
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert answer.json()["message"] == message


def test_price_endpoint_answers_in_chinese(client, customer, line):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    client.force_login(customer)
    answer = client.get(reverse("billing:renew_price", args=[line.pk]), {"data_gb": 20, "minutes": 150})
    assert answer.json()["message"] == "请填写 100 的整数倍的分钟数。"


def test_price_endpoint_does_not_price_another_customers_line(client, customer, plans):
    someone_else = LineFactory.create(owner=UserFactory.create())
    client.force_login(customer)
    answer = client.get(reverse("billing:renew_price", args=[someone_else.pk]), {"data_gb": 20, "minutes": 200})
    assert answer.status_code == 404


def test_wrong_amounts_are_listed_at_the_top_of_the_form_with_links(client, customer, line):
    client.force_login(customer)
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "flex", "data_gb": 0, "minutes": 150})
    assert response.status_code == 200
    page = response.content.decode()
    summary = page[page.index('class="form-errors error-summary" role="alert"') :]
    summary = summary[: summary.index("</div>")]
    assert '<a href="#id_data_gb">Data (GB): Choose between 1 and 100 GB.</a>' in summary
    assert '<a href="#id_minutes">Minutes: Enter a whole multiple of 100 minutes.</a>' in summary
    assert 'id="id_data_gb"' in page
    assert 'id="id_minutes"' in page
    assert 'aria-invalid="true"' in page
    # Wrong amounts have no price.
    assert 'data-unpriced="—">—<' in page
    assert not Order.objects.exists()


def test_error_summary_is_in_natural_chinese(client, customer, line):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    client.force_login(customer)
    page = client.post(
        reverse("billing:renew", args=[line.pk]),
        {"plan": "flex", "data_gb": 500, "minutes": 150},
    ).content.decode()
    assert "请检查以下用量：" in page
    assert "请填写 100 的整数倍的分钟数。" in page
    assert "请选择 1 到 100 GB 之间的流量。" in page
    assert "步长" not in page
    assert "确保" not in page


def test_right_amounts_open_an_order_at_the_price_shown(client, customer, line, localstripe):
    client.force_login(customer)
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "flex", "data_gb": 50, "minutes": 300})
    order = Order.objects.get()
    assert response["Location"] == reverse("billing:pay", args=[order.public_id])
    assert order.amount_minor == 14500
