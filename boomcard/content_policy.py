"""The Content-Security-Policy's scripts (a nonce, no list of hosts), Trusted Types, and what it
allows of Stripe. Read by the settings, and again for each response by
``boomcard.middleware.ContentSecurityPolicyMiddleware``.

No Django import here: the settings module imports this one.
"""

from urllib.parse import urlsplit

from csp.constants import NONCE, SELF, STRICT_DYNAMIC

# A strict policy (web.dev/articles/strict-csp): a script runs only if its <script> tag carries
# this response's nonce (every tag does: nonce="{{ request.csp_nonce }}"), or a script that did
# loaded it ('strict-dynamic': Stripe.js's own). No list of hosts. ``https:`` is only for
# browsers that know nonces but not 'strict-dynamic' (Safari before 15.4), which would otherwise
# block what Stripe.js loads; every browser that knows 'strict-dynamic' ignores it. No
# 'unsafe-inline' fallback: the browsers it is for (no nonces) cannot run our scripts anyway.
SCRIPTS = [NONCE, STRICT_DYNAMIC, "https:"]
# Trusted Types: a string never reaches a DOM sink that runs code (innerHTML, script.src, the
# service worker's URL...) unless a named policy made it. Ours is ``boom`` (static/js/app.js: the
# service worker's URL, same origin only). The pages that load Stripe.js also name ``default``
# (``STRIPE_TRUSTED_TYPES``, made by static/js/stripe_policy.js), which lets only Stripe.js's own
# script URLs through, for the real Stripe.js that relies on a default policy.
TRUSTED_TYPES = {"require-trusted-types-for": ["'script'"], "trusted-types": ["boom"]}
STRIPE_TRUSTED_TYPES = {"trusted-types": ["default"]}
# The admin's templates (Django's) put no nonce on their <script> tags and write HTML strings:
# staff pages keep the list of our own origin and no Trusted Types.
ADMIN_SCRIPTS = {"script-src": [SELF], "require-trusted-types-for": None, "trusted-types": None}

STRIPE_API = "https://api.stripe.com"
# Stripe's own list (docs.stripe.com/security/guide#content-security-policy): 3-D Secure and the
# wallets' pages are framed from js.stripe.com, its subdomains and hooks.stripe.com; the browser
# calls api.stripe.com. Stripe.js's scripts need no entry: the nonce and 'strict-dynamic' do.
STRIPE_FRAMES = ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stripe_sources(*, js_url: str, api_base: str) -> dict[str, list[str]]:
    """The directives that name Stripe, whole (``'self'`` included where the site needs it):
    frame-src and connect-src (script-src names no host).

    With the real Stripe, its published origins. With localstripe (development and the tests),
    its one address, which serves both the API and the stand-in Stripe.js. No form is posted to
    Stripe: its redirects (Alipay, 3-D Secure) are page navigations, which form-action does not
    govern, so form-action stays ``'self'``.
    """
    api = origin(api_base)
    if api == STRIPE_API:
        frames = list(STRIPE_FRAMES)
        calls = [STRIPE_API, *STRIPE_FRAMES]
    else:
        frames = list(dict.fromkeys([api, origin(js_url)]))
        calls = frames
    return {"frame-src": frames, "connect-src": [SELF, *calls]}
