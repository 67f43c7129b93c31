"""Settings for what the site meets outside itself: the seller on receipts, Stripe, the
Content-Security-Policy (which names Stripe's origins), the network's usage feed, and logging.
Read from the environment like the rest (``boomcard.settings``, which imports this at its end).
"""

from datetime import date
from decimal import Decimal

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from boomcard.content_policy import SCRIPTS, TRUSTED_TYPES, stripe_sources
from boomcard.settings.environment import PRODUCTION, env

# --- Receipts: who sells, and the tax included in the prices -----------------------------------

RECEIPT_SELLER_NAME = env.str("RECEIPT_SELLER_NAME", default="Boom Mobile Ltd.")
RECEIPT_SELLER_ADDRESS = env.str("RECEIPT_SELLER_ADDRESS", default="1 Example Road, Central, Hong Kong")
RECEIPT_SELLER_TAX_ID = env.str("RECEIPT_SELLER_TAX_ID", default="")
# Tax rate in percent that the prices of each currency include, e.g. ``CNY=6,HKD=0,USD=0``.
RECEIPT_TAX_RATES = {
    currency.upper(): Decimal(rate)
    for currency, rate in env.dict("RECEIPT_TAX_RATES", default={"CNY": "6", "HKD": "0", "USD": "0"}).items()
}
# A font with Chinese in it for the PDF receipt (Debian's fonts-noto-cjk); absent, the PDF is in English.
RECEIPT_PDF_FONT = env.str("RECEIPT_PDF_FONT", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

# --- Stripe (only billing/gateway.py reads these) -------------------------------------------

if PRODUCTION:
    STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
else:
    STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_boom_local")
    STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_boom_local")
    STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_boom_local")
    STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="http://127.0.0.1:8420")
# Stripe calls never hang a request or a worker: seconds to connect and to wait for an answer
# (the SDK's default is 80 s), and how often the SDK retries a call that failed on the way (every
# POST carries an idempotency key, so a retry never acts twice).
STRIPE_CONNECT_TIMEOUT = env.float("STRIPE_CONNECT_TIMEOUT", default=3.0)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
# Stripe.js: localstripe serves a stand-in at the same address as its API.
STRIPE_JS_URL = env.str(
    "STRIPE_JS_URL",
    default="https://js.stripe.com/v3/"
    if STRIPE_API_BASE.startswith("https://api.stripe.com")
    else f"{STRIPE_API_BASE}/js.stripe.com/v3/",
)

# --- Content-Security-Policy (django-csp) ---------------------------------------------------

# No inline script or style anywhere: every script is a file under static/ or Stripe.js, in a
# <script> tag with the response's nonce (boomcard/content_policy.py: scripts and Trusted Types).
# Stripe's origins come from STRIPE_JS_URL and STRIPE_API_BASE.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": SCRIPTS,
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # The service worker (/sw.js) and the web app manifest (/manifest.webmanifest).
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": PRODUCTION,
    }
    | TRUSTED_TYPES
    | stripe_sources(js_url=STRIPE_JS_URL, api_base=STRIPE_API_BASE),
}

# --- Usage feed from the mobile network (only plans/api.py reads these) ---------------------

# HMAC keys the network signs usage batches with, comma-separated: any one is accepted, so a
# new key can be added before the old one is dropped.
if PRODUCTION:
    USAGE_API_KEYS = env.list("USAGE_API_KEYS")
    if not any(USAGE_API_KEYS):
        raise ImproperlyConfigured("USAGE_API_KEYS must be set in production")
else:
    USAGE_API_KEYS = env.list("USAGE_API_KEYS", default=["dev-usage-key"])

# Until this date (YYYY-MM-DD, UTC) a request signed the old way, over "<timestamp>.<body>"
# only, is still accepted (and logged), while the network moves to signing the method and the
# path too (plans/signing.py). Unset, in every profile: only the current scheme.
_legacy_until = env.str("USAGE_API_LEGACY_SIGNATURES_UNTIL", default="")
try:
    USAGE_API_LEGACY_SIGNATURES_UNTIL = date.fromisoformat(_legacy_until) if _legacy_until else None
except ValueError:
    raise ImproperlyConfigured(
        f"USAGE_API_LEGACY_SIGNATURES_UNTIL must be a date like 2027-03-01, not {_legacy_until!r}"
    ) from None

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
