"""The receipt as a PDF (fpdf2, pure Python): the same lines as the receipt page, in the
customer's language. Chinese needs a CJK font (``RECEIPT_PDF_FONT``); without one the PDF is in
English with a built-in font rather than showing empty boxes."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from billing.selectors import Receipt
from boomcard.formats import date_time, gb_amount, min_amount, money, phone_number


def _paid_with(receipt: Receipt) -> str:
    order = receipt.order
    if order.card_last4:
        return f"{order.card_brand.title()} **** {order.card_last4}"
    return {"alipay": _("Alipay"), "wechat_pay": _("WeChat Pay")}.get(
        order.payment_method_type, order.payment_method_type
    )


def _name(plan: str, data_gb: int | None, minutes: int | None) -> str:
    return plan if data_gb is None else f"{plan} ({gb_amount(data_gb)}, {min_amount(minutes or 0)})"


def _rows(receipt: Receipt) -> list[tuple[str, str]]:
    order = receipt.order
    rows = [(_("Order"), order.public_id), (_("Date"), date_time(order.paid_at or order.created_at))]
    if len(receipt.items) > 1 or sum(group.quantity for group in receipt.items) > 1:
        for number, group in enumerate(receipt.items):
            name = _name(group.plan.name, group.flex_data_gb, group.flex_minutes)
            if group.quantity > 1:
                name = f"{group.quantity} × {name}"
            rows.append((_("Items") if number == 0 else "", f"{name}  {money(group.amount_minor, order.currency)}"))
    else:
        rows.append((_("Plan"), _name(order.plan.name, order.flex_data_gb, order.flex_minutes)))
    rows.append((_("Line"), phone_number(order.line.msisdn)))
    if receipt.period_start and receipt.period_end:
        rows.append((_("Period"), f"{date_time(receipt.period_start)} – {date_time(receipt.period_end)}"))
    if receipt.tax_rate is not None:
        rate = f"{receipt.tax_rate.normalize():f}"
        rows.append((_("Before tax"), money(receipt.net_minor, order.currency)))
        rows.append((_("Tax (%(rate)s%%)") % {"rate": rate}, money(receipt.tax_minor, order.currency)))
    rows += [
        (_("Amount"), money(order.amount_minor, order.currency)),
        (_("Paid with"), _paid_with(receipt)),
        (_("Status"), str(order.get_status_display())),
    ]
    return rows


def receipt_pdf(receipt: Receipt) -> bytes:
    """The PDF's bytes."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    font = Path(settings.RECEIPT_PDF_FONT)
    if font.is_file():
        pdf.add_font("receipt", fname=font)
        family, language = "receipt", translation.get_language()
    else:
        # The built-in fonts have no Chinese (nor some symbols): English, and ASCII money signs.
        family, language = "helvetica", "en"
    with translation.override(language):
        pdf.set_title(f"{_('Receipt')} {receipt.order.public_id}")
        pdf.set_font(family, size=20)
        pdf.cell(text=_("Receipt"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font(family, size=11)
        seller = [receipt.seller_name, receipt.seller_address]
        if receipt.seller_tax_id:
            seller.append(f"{_('Tax ID')}: {receipt.seller_tax_id}")
        for text in seller:
            pdf.multi_cell(0, 6, text=_latin(text, family), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        for label, value in _rows(receipt):
            pdf.cell(45, 8, text=_latin(label, family))
            pdf.multi_cell(0, 8, text=_latin(value, family), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font(family, size=9)
        pdf.multi_cell(0, 5, text=_latin(_("Prices include tax."), family), new_x="LMARGIN", new_y="NEXT")
        if family != "helvetica":
            fapiao = _("To ask for a fapiao (发票), write to %(email)s with the order number.") % {
                "email": settings.SUPPORT_EMAIL
            }
        else:
            fapiao = _("To ask for a fapiao, write to %(email)s with the order number.") % {
                "email": settings.SUPPORT_EMAIL
            }
        pdf.multi_cell(0, 5, text=_latin(fapiao, family), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin(text: str, family: str) -> str:
    """For the built-in font: what Latin-1 lacks (the en dash, any Chinese) in ASCII."""
    if family != "helvetica":
        return text
    text = text.replace("–", "-")
    return text.encode("latin-1", "replace").decode("latin-1")
