"""What the Content-Security-Policy allows of Stripe. Read by the settings, and again for each
response by ``boomcard.middleware.ContentSecurityPolicyMiddleware``.

No Django import here: the settings module imports this one.
"""

from urllib.parse import urlsplit

from csp.constants import SELF

STRIPE_API = "https://api.stripe.com"
# Stripe's own list (docs.stripe.com/security/guide#content-security-policy): Stripe.js and its
# Elements come from js.stripe.com and its subdomains; 3-D Secure and the wallets' pages are
# framed from hooks.stripe.com; the browser calls api.stripe.com.
STRIPE_SCRIPTS = ["https://js.stripe.com", "https://*.js.stripe.com"]
STRIPE_FRAMES = ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_sources(*, js_url: str, api_base: str) -> dict[str, list[str]]:
    """The directives that name Stripe, whole (``'self'`` included where the site needs it).

    With the real Stripe, its published origins. With localstripe (development and the tests),
    its one address, which serves both the API and the stand-in Stripe.js. No form is posted to
    Stripe: its redirects (Alipay, 3-D Secure) are page navigations, which form-action does not
    govern, so form-action stays ``'self'``.
    """
    scripts = list(dict.fromkeys([SELF, origin(js_url)]))
    api = origin(api_base)
    if api == STRIPE_API:
        scripts += [source for source in STRIPE_SCRIPTS if source not in scripts]
        frames = list(STRIPE_FRAMES)
        calls = [STRIPE_API, *STRIPE_FRAMES]
    else:
        frames = list(dict.fromkeys([api, origin(js_url)]))
        calls = frames
    return {"script-src": scripts, "frame-src": frames, "connect-src": [SELF, *calls]}
