"""QR codes drawn on the server as inline SVG (segno): the eSIM activation code, a two-step
log-in key, a WeChat Pay code. Infrastructure every app may use."""

from __future__ import annotations

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg_draw(text: str) -> SafeString:
    """``text`` as an inline SVG QR code, sized by CSS. Drawn each time: for what is secret or
    used once (a two-step log-in key, a WeChat Pay code), which no process should keep."""
    qr = segno.make(text, error="m", micro=False)
    svg = qr.svg_inline(scale=1, border=2, dark="#1a1a2e", light="#ffffff", omitsize=True)
    return mark_safe(svg)  # noqa: S308 (segno's own markup, built from the text: no customer input)
