"""Django settings of trialdesk.

Configured by environment variables so that app servers stay stateless:
- TRIALDESK_DB: path of the SQLite file (default ./trialdesk.sqlite3)
- DATABASE_URL: postgres://user:pass@host:port/name, overrides TRIALDESK_DB
- TRIALDESK_PROTOCOL: protocol YAML file (default: the packaged NCT00724360)
- TRIALDESK_SECRET_KEY (required, except in the demo, which writes secret.key beside
  its database, and in the tests), TRIALDESK_DEBUG, TRIALDESK_ALLOWED_HOSTS
- TRIALDESK_SESSION_IDLE_MINUTES (default 30), TRIALDESK_REQUIRE_2FA (default 1)
- TRIALDESK_LOGIN_FAILURE_LIMIT (default 5), TRIALDESK_LOCKOUT_MINUTES (default 30): a username
  is locked after that many failures, from any address; TRIALDESK_LOGIN_IP_FAILURES (default 10),
  TRIALDESK_LOGIN_IP_WINDOW_MINUTES (15), TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS (60): an address
  is slowed down beyond that many failures in the window
- TRIALDESK_HTTPS=1 behind an HTTPS reverse proxy (HSTS, secure cookies);
  TRIALDESK_PROXY_COUNT=N when N proxies set X-Forwarded-For (client IP for lockouts)
- TRIALDESK_PROXY_SSL_HEADER=1 (X-Forwarded-Proto) or a header name: trust the proxy's
  header saying the request came over HTTPS; unset, no header is trusted
- TRIALDESK_STATIC_ROOT: where `manage collectstatic` writes (optional: served if present)
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_flag("TRIALDESK_DEBUG", False)
SECRET_KEY_FILE_NAME = "secret.key"


def _secret_key() -> str:
    """TRIALDESK_SECRET_KEY; else the secret.key that `trialdesk demo` writes beside its
    database (found, like audit.key, beside the SQLite file or in the current folder); else,
    under pytest only, a fixed test key. Anything else refuses to start: no insecure fallback."""
    if value := os.environ.get("TRIALDESK_SECRET_KEY", "").strip():
        return value
    folders = []
    if os.environ.get("TRIALDESK_DB") and not os.environ.get("DATABASE_URL"):
        folders.append(Path(os.environ["TRIALDESK_DB"]).resolve().parent)
    folders.append(Path.cwd())
    for folder in folders:
        candidate = folder / SECRET_KEY_FILE_NAME
        if candidate.is_file() and (value := candidate.read_text().strip()):
            return value
    if "pytest" in sys.modules:
        return "trialdesk-insecure-key-for-the-tests-only"
    raise ImproperlyConfigured(
        "TRIALDESK_SECRET_KEY is not set (and no secret.key in "
        + " or ".join(str(folder) for folder in dict.fromkeys(folders))
        + "): set it to a long random string, e.g. "
        '`python3 -c "import secrets; print(secrets.token_urlsafe(50))"`'
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = os.environ.get("TRIALDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Login hardening (issue 3): lockouts, TOTP two-factor, and the app that wires them.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "trialdesk.accounts",
    "trialdesk.studies",
    "trialdesk.subjects",
    "trialdesk.crf",
    "trialdesk.audit",
    "trialdesk.signatures",
    "trialdesk.locks",
    "trialdesk.audit_viewer",
    "trialdesk.queries",
    "trialdesk.cardiac",
    "trialdesk.treatment",
    "trialdesk.pharmacy",
    "trialdesk.safety",
    "trialdesk.assessments",
    "trialdesk.deviations",
    "trialdesk.api",
    "ninja",  # the REST API's docs (Swagger UI) from its own static files, no CDN
    "trialdesk.reports",
    "trialdesk.exports",
    # issue 15 (the web application by role) and issue 12's background jobs
    "trialdesk.jobs",
    "django_q",  # the queue of the background jobs (ORM broker: the database itself)
    "trialdesk.monitoring",
    "trialdesk.dashboards",
    "trialdesk.administration",
    "trialdesk.workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app server, right after SecurityMiddleware (see STATIC_*).
    "trialdesk.web.static_files.StaticFilesMiddleware",  # WhiteNoise
    "trialdesk.accounts.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The study from the path (/studies/<NCT id>/…): request.study, and the prefix of reverse().
    "trialdesk.web.study_path.StudyInPathMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "trialdesk.accounts.middleware.IdleTimeoutMiddleware",
    "trialdesk.accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a lockout into the login page with its message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trialdesk.web.urls"
WSGI_APPLICATION = "trialdesk.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trialdesk.studies.context.study_context",
            ],
            # {% crumbs %}: every page's breadcrumbs start at the user's home (trialdesk.web.crumbs)
            "builtins": ["trialdesk.web.crumbs", "trialdesk.web.typography"],
        },
    }
]


# synchronous=FULL keeps every committed transaction through a power loss. The journal mode
# (WAL) is a property of the file, set once when the database is migrated
# (trialdesk.studies.apps), so that opening a database to look at it writes nothing.
SQLITE_PRAGMAS = "PRAGMA synchronous=FULL;"


def _database_config() -> dict:
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=60)
        config.setdefault("OPTIONS", {})["connect_timeout"] = 5
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TRIALDESK_DB", str(Path.cwd() / "trialdesk.sqlite3")),
        # IMMEDIATE: a writer takes the lock at BEGIN, so two writers queue instead of
        # failing on a lock upgrade; the audit chain relies on writes being serialised.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": SQLITE_PRAGMAS,
        },
    }


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout (django-axes): its backend first refuses a locked username+IP before any
# password is checked; the ModelBackend then checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("TRIALDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("TRIALDESK_LOCKOUT_MINUTES", "30")))
# The username is locked, from every address: never the address, which a whole hospital may share.
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that a username-only lockout lets one address try many usernames: the per-address
# slow-down of trialdesk.accounts.failures covers that, without locking a whole hospital out.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
# A lockout lasts the cool-off from the failure that caused it; attempts during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "trialdesk.accounts.views.locked_out"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit trail
AXES_VERBOSE = False
if os.environ.get("TRIALDESK_PROXY_COUNT"):
    AXES_IPWARE_PROXY_COUNT = int(os.environ["TRIALDESK_PROXY_COUNT"])
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# Per client address, failed sign-ins beyond an allowance in a sliding window are slowed down:
# the address waits 1, 2, 4… seconds (at most the maximum) before a sign-in is checked again.
TRIALDESK_LOGIN_IP_FAILURES = int(os.environ.get("TRIALDESK_LOGIN_IP_FAILURES", "10"))
TRIALDESK_LOGIN_IP_WINDOW_MINUTES = int(os.environ.get("TRIALDESK_LOGIN_IP_WINDOW_MINUTES", "15"))
TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS = int(os.environ.get("TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS", "60"))

# Two-factor (django-otp TOTP) for every user, whatever their role.
TRIALDESK_REQUIRE_2FA = _env_flag("TRIALDESK_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = "trialdesk"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"  # display; storage is UTC (USE_TZ)
# dates in tables: |date:"SHORT_DATE_FORMAT" (2026-12-02 in English, 02/12/2026 in French)
FORMAT_MODULE_PATH = ["trialdesk.web.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "web" / "static"]
STATIC_ROOT = Path(os.environ.get("TRIALDESK_STATIC_ROOT", Path.cwd() / "static"))
# WhiteNoise serves the static files from where the installed package holds them (the
# staticfiles finders, indexed once at start-up): `trialdesk serve` works from a pip
# install whose site-packages is read-only, with no collectstatic step and nothing written
# at start. A deployment that runs `manage collectstatic` gets STATIC_ROOT served as well
# (trialdesk.web.static_files: without it, the missing folder is not worth a warning).
WHITENOISE_USE_FINDERS = True
# Files served at the site's root, where browsers look for them unasked: /favicon.ico.
WHITENOISE_ROOT = BASE_DIR / "web" / "root"

# Idle timeout: the session expires after N minutes without a request (the cookie and
# the stored session, and IdleTimeoutMiddleware signs the user out with a message).
TRIALDESK_SESSION_IDLE_MINUTES = int(os.environ.get("TRIALDESK_SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = TRIALDESK_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "trialdesk.accounts.errors.csrf_failure"
# Scripts, styles and images from this site only: no inline script, no inline handler.
TRIALDESK_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
TRIALDESK_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

def _proxy_ssl_header() -> tuple[str, str] | None:
    """Trust a proxy's "this came over HTTPS" header only when told to: anyone can send it."""
    value = os.environ.get("TRIALDESK_PROXY_SSL_HEADER", "").strip()
    if value.lower() in {"", "0", "false", "no", "off"}:
        return None
    name = "X-Forwarded-Proto" if value.lower() in {"1", "true", "yes", "on"} else value
    return ("HTTP_" + name.upper().replace("-", "_"), "https")


if (_proxy_header := _proxy_ssl_header()) is not None:
    SECURE_PROXY_SSL_HEADER = _proxy_header
if _env_flag("TRIALDESK_HTTPS", False):
    SECURE_HSTS_SECONDS = 31536000
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MiB: no CRF needs more

# Mail (the SAE notifications): printed on the console by default (the demo), kept in memory
# under pytest (django.core.mail.outbox), sent by SMTP in a deployment that sets
# TRIALDESK_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the TRIALDESK_EMAIL_*
# settings below (README, "Mail").
EMAIL_BACKEND = os.environ.get(
    "TRIALDESK_EMAIL_BACKEND",
    "django.core.mail.backends.locmem.EmailBackend"
    if "pytest" in sys.modules
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("TRIALDESK_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TRIALDESK_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TRIALDESK_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TRIALDESK_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_flag("TRIALDESK_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _env_flag("TRIALDESK_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("TRIALDESK_EMAIL_FROM", "trialdesk@localhost")
# The address the mail's links start with (https://trialdesk.example.org); empty: links are paths.
TRIALDESK_BASE_URL = os.environ.get("TRIALDESK_BASE_URL", "")
# How long the link of an invitation e-mail works (trialdesk.administration), in days.
TRIALDESK_INVITATION_DAYS = float(os.environ.get("TRIALDESK_INVITATION_DAYS", "7"))

TRIALDESK_PROTOCOL = os.environ.get("TRIALDESK_PROTOCOL", "")


# Background jobs (issue 12: long exports), run by `trialdesk worker` and by `trialdesk serve`:
# django-q2 with its ORM broker, the database itself (no other server; several workers on
# PostgreSQL). A task a worker takes is locked for RETRY seconds; a worker killed mid-task never
# acknowledges it, so another worker takes it again after RETRY seconds and the job restarts
# from scratch. A task running longer than TIMEOUT seconds is stopped: RETRY must exceed it.
TRIALDESK_JOB_TIMEOUT = int(os.environ.get("TRIALDESK_JOB_TIMEOUT", "1800"))
TRIALDESK_JOB_RETRY = int(os.environ.get("TRIALDESK_JOB_RETRY", str(TRIALDESK_JOB_TIMEOUT + 120)))
if TRIALDESK_JOB_RETRY <= TRIALDESK_JOB_TIMEOUT:
    raise ImproperlyConfigured(
        f"TRIALDESK_JOB_RETRY ({TRIALDESK_JOB_RETRY} s) must be longer than TRIALDESK_JOB_TIMEOUT "
        f"({TRIALDESK_JOB_TIMEOUT} s): a job would be started again while it still runs."
    )
Q_CLUSTER = {
    "name": "trialdesk",
    "orm": "default",
    "workers": int(os.environ.get("TRIALDESK_JOB_WORKERS", "2")),
    "queue_limit": 2,  # a busy worker does not hold back tasks another worker could take
    "timeout": TRIALDESK_JOB_TIMEOUT,
    "retry": TRIALDESK_JOB_RETRY,
    "max_attempts": 3,  # trialdesk.jobs.runner also stops a job after 3 interrupted attempts
    "ack_failures": True,  # a job that failed is told to its user, not run again
    "poll": 0.5,
    "save_limit": 100,
    "scheduler": False,
    "catch_up": False,
    "label": "Background jobs",
}
# A finished job's file is kept TRIALDESK_JOB_KEEP_DAYS days (default 7), then removed by the
# workers (the job stays listed, "no longer kept"; the export itself stays in the audit trail).
TRIALDESK_JOB_KEEP_DAYS = int(os.environ.get("TRIALDESK_JOB_KEEP_DAYS", "7"))
# Where finished jobs keep their files (one folder per job): TRIALDESK_JOB_FILES, else a
# folder beside the SQLite database (or in the current folder with DATABASE_URL). Every app
# server and worker must see the same folder (a shared volume on several machines).
TRIALDESK_JOB_FILES = Path(
    os.environ.get("TRIALDESK_JOB_FILES")
    or (
        Path(tempfile.gettempdir()) / "trialdesk-test-job-files"
        if "pytest" in sys.modules
        else Path(DATABASES["default"]["NAME"]).resolve().parent / "job-files"
        if "sqlite" in DATABASES["default"]["ENGINE"]
        else Path.cwd() / "job-files"
    )
)

# Errors to stderr in the format of gunicorn's error log (`trialdesk serve` writes its
# access log, in the combined log format, to stdout).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "standard": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
                     "datefmt": "%Y-%m-%d %H:%M:%S %z"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "standard"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
