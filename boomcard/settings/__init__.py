"""Settings for Boom self-service, all read from the environment (django-environ).

``DJANGO_ENV`` picks the profile: ``development`` (the default: SQLite, an embedded Celery
broker, localstripe, mail to the console and ``var/mail/``), ``test`` (what ``make test`` uses)
and ``production`` (which refuses to start without its secrets). Every variable is listed in
the README.
"""

import re
from datetime import timedelta

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

# The profile and the environment; DEBUG and DJANGO_ENV are settings themselves.
from boomcard.settings.environment import (  # noqa: F401
    BASE_DIR,
    DEBUG,
    DJANGO_ENV,
    PRODUCTION,
    TESTING,
    VAR_DIR,
    env,
    env_required,
)

# Lets classes be written with their type parameters (``admin.ModelAdmin[Line]``).
django_stubs_ext.monkeypatch()

if PRODUCTION:
    # No default: a production process without its secret must not start.
    SECRET_KEY = env.str("SECRET_KEY")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production-0123456789")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    # The admin, on a site that asks staff for their second step (accounts/admin_site.py).
    "accounts.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "phonenumber_field",
    # Third-party apps through their AppConfigs subclassed in accounts/apps.py: named in Chinese too.
    "accounts.apps.AxesConfig",
    "django_otp",
    "accounts.apps.TOTPConfig",
    "accounts.apps.StaticConfig",
    "csp",
    # ISO 3166-1 country names in both languages (boomcard.formats.country_name).
    "django_countries",
    # The audit trail's entries and their list (boomcard/audit.py writes them).
    "accounts.apps.AuditlogConfig",
    "accounts",
    "plans",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Near the top, so that they see the cookies and pages every later middleware makes.
    "boomcard.middleware.SecureCookiesMiddleware",
    "boomcard.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Around everything that reads the user: it and the page are read and stored in fewer round trips.
    "boomcard.middleware.PageCacheMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the authentication, so that it knows whose page it is: none is stored by a cache.
    "boomcard.middleware.PrivatePagesMiddleware",
    # request.user.is_verified(): did this session pass the second step?
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.CustomerPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Answers a RateLimited raised by any view or service: 429, a page or JSON.
    "boomcard.ratelimit.RateLimitedMiddleware",
    # After the messages, so that it can say why it logged someone out.
    "accounts.middleware.SessionLimitsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "boomcard.urls"
WSGI_APPLICATION = "boomcard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.unread_notices",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------------

# Production names its database, Redis (broker and cache) and mail server, or does not start:
# the development fallbacks (SQLite, a broker in files, mail to the console) would lose data.
if PRODUCTION:
    DATABASES = {"default": env.db_url_config(env_required("DATABASE_URL"))}
else:
    DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'boomcard.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, worker and beat write one file together: they wait for each other
    # instead of failing with "database is locked". WAL lets readers read while one writes; the
    # timeout (seconds) makes a writer wait for the lock; IMMEDIATE takes the write lock as a
    # transaction begins, so a transaction that reads then writes never has to upgrade its lock
    # (SQLite refuses that at once, whatever the timeout).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that makes no round trip on a live connection.
    DATABASES["default"]["ENGINE"] = "boomcard.postgresql"
    # Parameters sent apart from the statement (server-side binding), so that psycopg prepares a
    # statement once a connection has run it DATABASE_PREPARE_THRESHOLD times: PostgreSQL then
    # plans each of a page's statements once per connection, not on every request. Empty turns
    # prepared statements off, for a pooler in transaction mode that cannot keep them (PgBouncer
    # before 1.21, or without max_prepared_statements).
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=int(_prepare) if _prepare else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required("REDIS_URL") if PRODUCTION else env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "boomcard.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis fails fast: the page caches fall back to the database.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # The embedded default: files under var/, shared by the web process, the worker and beat
    # (a worker's change must reach the web process's page cache).
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    }
# Template fragments that are the same for every customer with the same language (the links of
# the header, the footer), kept in each process's memory: {% cache ... using="fragments" %}.
CACHES["fragments"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"}
# How long a customer's cached page parts (boomcard.page_cache) live at most: the age of the
# days-left countdown on the home page. Changes to lines, buckets and notices show at once.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)

# --- Celery (see boomcard/celery.py) --------------------------------------------------------

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Longer than the longest task (CELERY_TASK_TIME_LIMIT), or Redis would hand a running task
    # to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    }
else:
    # The embedded broker: kombu's filesystem transport, no server to run.
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Accounts -------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PhoneOrEmailBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "plans:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Numbers typed without a country code are read as numbers of this region.
PHONENUMBER_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="CN")
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# SMS goes through a backend chosen here, like Django's email backends.
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="accounts.sms.LocmemBackend" if TESTING else "accounts.sms.ConsoleBackend",
)
SMS_API_URL = env.str("SMS_API_URL", default="")
SMS_API_KEY = env.str("SMS_API_KEY", default="")
SMS_SENDER = env.str("SMS_SENDER", default="Boom")

# django-axes: five wrong passwords for an account (whichever of its names was typed) lock that
# account from that address for a while; not the account from elsewhere, nor the address for
# other accounts (so never staff for a customer's failures, nor a customer for staff's). Elsewhere,
# each try for that account waits first: LOGIN_DELAY_SECONDS, doubled with each further failure,
# at most LOGIN_DELAY_MAX_SECONDS (accounts.lockout).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LOGIN_DELAY_SECONDS = env.float("LOGIN_DELAY_SECONDS", default=0.5)
LOGIN_DELAY_MAX_SECONDS = env.float("LOGIN_DELAY_MAX_SECONDS", default=4.0)
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_LOCKOUT_CALLABLE = "accounts.views.common.lockout"
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the site: the client's address is then the one the outermost proxy
# saw, read from X-Forwarded-For. Lockouts and rate limits both count by it.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "boomcard.ratelimit.client_address"

# Two-step log-in (django-otp): an authenticator app (TOTP) and one-time recovery codes. Each
# wrong code makes the next try wait twice as long (1, 2, 4 ... seconds) for that device.
OTP_TOTP_ISSUER = "Boom"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Requests one client address may make (the usage API: also one signing key), as "<count>/<s|m|h>".
# Counted in the cache, so every web process shares them when REDIS_URL is set.
RATE_LIMITS = {
    # Password and second-step posts to the log-in pages (django-axes also locks an account from
    # an address after LOGIN_FAILURE_LIMIT wrong passwords). The only cap on one address trying
    # many accounts.
    "login": env.str("RATE_LIMIT_LOGIN", default="20/m"),
    # The same for staff names (the admin's log-in), counted apart: customers pressing on from an
    # address never lock staff out of it, nor staff customers (accounts.lockout.login_rate_limit).
    "staff_login": env.str("RATE_LIMIT_STAFF_LOGIN", default="20/m"),
    # SMS codes sent: registration, new code, password reset, adding a line.
    "sms": env.str("RATE_LIMIT_SMS", default="10/h"),
    "password_reset": env.str("RATE_LIMIT_PASSWORD_RESET", default="10/h"),
    "usage_api": env.str("RATE_LIMIT_USAGE_API", default="120/m"),
}
for _name, _rate in RATE_LIMITS.items():
    if not re.fullmatch(r"[1-9][0-9]*/[smh]", _rate):
        raise ImproperlyConfigured(f"The {_name} rate limit must look like 20/m (count/s, m or h), not {_rate!r}")

# --- Sessions and security ------------------------------------------------------------------

# A logged-in session ends after SESSION_IDLE_MINUTES without a request, and SESSION_MAX_HOURS
# after the log-in whatever happens (accounts.middleware.SessionLimitsMiddleware).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 60 * 60
# Read from the cache, written through to the database (boomcard/sessions.py); a cached copy
# lives at most SESSION_CACHE_SECONDS.
SESSION_ENGINE = "boomcard.sessions"
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The pages' scripts read the token from the form, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")

# --- Language and time ----------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# Our catalogue first; then a hand-kept one for third-party apps that ship no Chinese (auditlog,
# axes, django-otp), which makemessages never rewrites (locale_vendor/README.md).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# Shown to a customer who has not chosen a time zone.
CUSTOMER_DEFAULT_TIME_ZONE = env.str("CUSTOMER_DEFAULT_TIME_ZONE", default="Asia/Shanghai")
# Usage is totalled per calendar day in this zone (the usage chart's days).
USAGE_DAY_TIME_ZONE = env.str("USAGE_DAY_TIME_ZONE", default="Asia/Shanghai")
# Applied usage batches (the network's posts as received; their records live on in
# plans_usagerecord) are deleted this many days after they arrived, and their status with them.
USAGE_BATCH_KEEP_DAYS = env.int("USAGE_BATCH_KEEP_DAYS", default=30)
LANGUAGE_COOKIE_NAME = "boom_language"
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Prices are shown in this currency until the visitor picks another (CNY, HKD or USD).
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="CNY")

# Country names come from django-countries (ISO 3166-1, in both languages), but for these three
# customers read our own wording, which our catalogue translates ("中国香港", "中国澳门", "中国台湾").
COUNTRIES_OVERRIDE = {"HK": gettext_lazy("Hong Kong"), "MO": gettext_lazy("Macau"), "TW": gettext_lazy("Taiwan")}

# --- Static files and mail ------------------------------------------------------------------

STATIC_URL = "static/"
# collectstatic gathers files here for production; elsewhere whitenoise finds them in place.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

EMAIL_FILE_PATH = VAR_DIR / "mail"
if PRODUCTION or "EMAIL_URL" in env:
    # e.g. smtp+tls://user:password@host:587, or filemail:////absolute/folder
    vars().update(env.email_url_config(env_required("EMAIL_URL")))
else:
    EMAIL_BACKEND = "boomcard.mail.ConsoleAndFileBackend"
# Seconds each step of a conversation with the mail server may wait. At most 30: the email task
# is interrupted after 60 s (accounts.tasks), well inside the two minutes an email is held by its
# sender (accounts.outbox.EMAIL_SEND_LEASE).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Boom <no-reply@boom.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@boom.example")
# Shown on the help page with SUPPORT_EMAIL (as written here, in every language).
SUPPORT_HOURS = env.str("SUPPORT_HOURS", default="09:00–21:00 (UTC+8)")
SUPPORT_PHONE = env.str("SUPPORT_PHONE", default="+86 400 000 0000")

# The audit trail (boomcard.audit) names a related object by its text (a line's number, a plan),
# not by its id.
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

# Receipts, Stripe, the Content-Security-Policy (Stripe's origins), the usage feed and logging.
from boomcard.settings.integrations import *  # noqa: E402, F403
