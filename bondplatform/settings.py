"""Settings for Mutual Bonds.

Zero configuration by default: an SQLite file next to the code, a generated
development secret key, the database as django-q2's broker. Production is
configured from the environment (see `.env.example`): `DATABASE_URL` for
PostgreSQL, `REDIS_URL` for a Redis broker, `STRIPE_*` for card payments.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    # Development only: generated once and kept beside the code, because the
    # web server and the django-q2 worker are separate processes that must
    # share it (the worker unsigns the tasks the web process queues).
    _dev_key_file = BASE_DIR / ".dev-secret-key"
    try:
        SECRET_KEY = _dev_key_file.read_text().strip()
    except FileNotFoundError:
        SECRET_KEY = "dev-" + secrets.token_urlsafe(40)
        try:
            with os.fdopen(os.open(_dev_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(SECRET_KEY)
        except FileExistsError:  # another process made it first: use theirs
            SECRET_KEY = _dev_key_file.read_text().strip()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # Django's admin behind the site's own sign-in, two-factor code included.
    "people.admin_apps.SignInAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_q",
    "bondplatform",
    "people",
    "issuers",
    "ledger",
    "investments",
    "compliance",
]

MIDDLEWARE = [
    # First: times, names and logs the whole request, and gives it a request id.
    "bondplatform.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # A cut connection or an exhausted retry: 503 with Retry-After (bondplatform.faults).
    "bondplatform.faults.TransientDatabaseErrorMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Outside the session and CSRF middleware, so that it sees the cookies they set.
    "bondplatform.headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends sessions that a change to the second factor outdated; tells the gates
    # whether this session's sign-in gave a two-factor code.
    "people.sessions.SignInStateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bondplatform.urls"
WSGI_APPLICATION = "bondplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "issuers.context_processors.roles",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name?sslmode=…` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options: dict = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        # psycopg prepares a statement sent through a server-side binding cursor after this
        # many uses on a connection. Only the ledger's posting statement is sent that way
        # (Django's own cursors bind on the client and are never prepared). Behind a pooler
        # that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode),
        # add `?prepare_threshold=none` to DATABASE_URL.
        threshold = options.pop("prepare_threshold", "5")
        if threshold.lower() == "none":
            options["prepare_threshold"] = None
        elif threshold.isdigit():
            options["prepare_threshold"] = int(threshold)
        else:
            raise ImproperlyConfigured(
                f"DATABASE_URL: prepare_threshold must be a whole number or none, not {threshold!r}."
            )
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "bondplatform",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
            # A kept connection that died between requests (a database restart) is
            # replaced before its first use, instead of failing one request per process.
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if parsed.scheme == "sqlite":
        return sqlite_database(unquote(parsed.path) or str(BASE_DIR / "db.sqlite3"))
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported.")


def sqlite_database(path: str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Several writers (web + django-q2 worker) share the file: wait for
        # the write lock rather than failing, and take it at BEGIN so a
        # read-then-write transaction never deadlocks on an upgrade.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(DATABASE_URL)
    if DATABASE_URL
    else sqlite_database(str(BASE_DIR / "db.sqlite3"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Judges no password: ends every API token of a person whose password changes.
    {"NAME": "people.passwords.EndTokensOnPasswordChange"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The site's own stylesheet and scripts, and vendored Pico CSS (static/vendor/pico/, MIT).
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development WhiteNoise serves straight from the apps' static folders;
# production serves what `collectstatic` put in STATIC_ROOT. Pinned to the
# environment's DEBUG (not Django's runtime value, which the test runner
# turns off) so tests do not look for a STATIC_ROOT that was never built.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Bodies larger than this are refused with 400 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(1024 * 1024)))
# An uploaded file (a bank statement) larger than this is refused while it streams in,
# 413 file_too_large, before the rest is read (bondplatform.uploads).
UPLOAD_MAX_FILE_SIZE = int(os.environ.get("UPLOAD_MAX_FILE_SIZE", str(5 * 1024 * 1024)))
FILE_UPLOAD_HANDLERS = [
    "bondplatform.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# How many reverse proxies (load balancer, nginx) stand in front of the service
# and append to X-Forwarded-For. 0 (the default): the client's address is the
# connection's (REMOTE_ADDR) and X-Forwarded-For is ignored, since anyone can
# send one: DRF's own default (trust the whole header) let every made-up value
# count as a new client and so escape the sign-in rate limit. Behind N proxies,
# the address N places from the header's right end is the client's.
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "people.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": ["bondplatform.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PAGINATION_CLASS": "bondplatform.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "bondplatform.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "bondplatform.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Signing in and registering are rate-limited per client address, against
    # password (and two-factor code) guessing. Counters live in the cache.
    "DEFAULT_THROTTLE_RATES": {"sign_in": os.environ.get("SIGN_IN_RATE", "20/min")},
    # Which address a client has (for those rate limits): see NUM_PROXIES below.
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Mutual Bonds API",
    "DESCRIPTION": "Community bond issuance and an immutable, verifiable ledger.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set that several fields use (`interest_preference`, `preference`).
    "ENUM_NAME_OVERRIDES": {"InterestPreferenceEnum": "investments.models.InterestPreference"},
    # Swagger UI's files come with drf-spectacular-sidecar and are served by the service
    # itself, not fetched from a CDN into pages that hold a signed-in officer's session.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy (django-csp): scripts, styles and everything else from the service
# itself, nothing inline (the pages keep their scripts and styles in static files); Stripe.js
# on the card-payment page, its frames (card field, 3-D Secure) and its API. No page may be
# framed by another site (as X-Frame-Options: DENY says for older browsers).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, "https://js.stripe.com"],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, "https://api.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
# Where browsers report what the policy blocked (optional): a URL that collects CSP reports.
if os.environ.get("CSP_REPORT_URI"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]

# django-q2: the database is the broker unless Redis is configured.
REDIS_URL = os.environ.get("REDIS_URL", "")
# The cache holds rate-limit counters: per process by default, shared through
# Redis when it is configured (several web processes must count together).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
Q_CLUSTER = {
    "name": "bondplatform",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# The ledger's checkpoint signing key: an Ed25519 private key, 32 raw bytes
# hex-encoded. Development generates one and keeps it in a file beside the
# SQLite database; production must set it (statements signed with a key that
# changes on restart would be worthless).
LEDGER_SIGNING_KEY = os.environ.get("LEDGER_SIGNING_KEY", "")
LEDGER_SIGNING_KEY_FILE = BASE_DIR / ".ledger-signing-key"
if not LEDGER_SIGNING_KEY and not DEBUG:
    raise ImproperlyConfigured("LEDGER_SIGNING_KEY must be set when DEBUG is off (see .env.example).")

# Signing in. An API token (auth/token/) lasts this many seconds, then its
# holder signs in again; `auth/logout/` ends it sooner.
TOKEN_TTL = int(os.environ.get("TOKEN_TTL", str(12 * 60 * 60)))
# After this many failed sign-ins (wrong password or two-factor code) within
# SIGN_IN_LOCKOUT_SECONDS of each other, an account name is locked for
# SIGN_IN_LOCKOUT_SECONDS: 429 `account_locked`. Counted in the database, so
# every web process counts together.
SIGN_IN_LOCKOUT_FAILURES = int(os.environ.get("SIGN_IN_LOCKOUT_FAILURES", "10"))
SIGN_IN_LOCKOUT_SECONDS = int(os.environ.get("SIGN_IN_LOCKOUT_SECONDS", str(15 * 60)))

# Residents subscribe only once their e-mail address is verified (a signed link
# sent at registration); 403 `email_not_verified` until then. On unless DEBUG.
EMAIL_VERIFICATION_REQUIRED = env_bool("EMAIL_VERIFICATION_REQUIRED", not DEBUG)

# Outgoing e-mail (verification links). Development prints it to the console.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Mutual Bonds <noreply@localhost>")

# Officers, auditors and staff must have set up two-factor sign-in (an
# authenticator app) before they can act, and the admin lets staff in only then;
# without it their actions answer 403 `two_factor_required`. Off by default so
# the demo runs with nothing to set up. Either way, whoever has set it up acts
# only through a sign-in (session or token) that gave the code.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", False)

# Background work after COMMIT (refunds sent to Stripe, PaymentIntents cancelled)
# goes to the django-q2 worker; the test suite runs it inline instead.
BACKGROUND_INLINE = env_bool("BACKGROUND_INLINE", False)

# Payments.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# How long an unpaid subscription holds its place before it expires.
SUBSCRIPTION_PAYMENT_WINDOW_HOURS = int(os.environ.get("SUBSCRIPTION_PAYMENT_WINDOW_HOURS", "72"))
DEFAULT_CURRENCY = "GBP"

# Logs: one line per request and per background task (bondplatform.requestlog),
# JSON for a log collector in production, text for a person in development.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "bondplatform.logs.RequestIdFilter"},
        "routine_worker": {"()": "bondplatform.logs.RoutineWorkerMessages"},
    },
    "formatters": {
        "json": {"()": "bondplatform.logs.JsonFormatter"},
        "text": {"()": "bondplatform.logs.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # WeasyPrint narrates every PDF step by step at INFO; its warnings still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # The request line says each refusal once, at INFO with its code: Django's own
        # WARNING "Unprocessable Entity" for every 4xx (and runserver's access line)
        # would say it again, louder. Their 5xx errors, with tracebacks, still show.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        # django-q2 says "created task ... from schedule" and "Processed ..." at INFO for
        # every scheduled task every minute: DEBUG here (LOG_LEVEL=DEBUG shows them).
        "django-q": {"filters": ["routine_worker"]},
    },
}

# /metrics (Prometheus) answers a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`,
# and signed-in staff; anyone else gets 404. Unset: staff only.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    # HTTPS only. Plain HTTP is redirected to HTTPS, except the load balancer's health
    # check; and browsers that have seen the service over HTTPS are told to use nothing
    # else for SECURE_HSTS_SECONDS (a year), its subdomains included, with the `preload`
    # flag that lets the domain be put on browsers' built-in lists. HSTS is hard to take
    # back: read the README's production notes before changing these.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 60 * 60)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Behind a reverse proxy that ends TLS, Django sees plain HTTP: name the header the proxy
# sets to "https" for HTTPS requests (e.g. X-Forwarded-Proto), or the redirect to HTTPS
# never ends. The proxy must overwrite that header from clients, which could fake it.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + os.environ["SECURE_PROXY_SSL_HEADER"].strip().upper().replace("-", "_"),
        "https",
    )
