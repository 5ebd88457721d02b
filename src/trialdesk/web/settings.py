"""Django settings of trialdesk.

Configured by environment variables so that app servers stay stateless:
- TRIALDESK_DB: path of the SQLite file (default ./trialdesk.sqlite3)
- DATABASE_URL: postgres://user:pass@host:port/name, overrides TRIALDESK_DB
- TRIALDESK_PROTOCOL: protocol YAML file (default: the packaged NCT00724360)
- TRIALDESK_SECRET_KEY, TRIALDESK_DEBUG, TRIALDESK_ALLOWED_HOSTS
- TRIALDESK_SESSION_IDLE_MINUTES (default 30), TRIALDESK_REQUIRE_2FA (default 1)
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_flag("TRIALDESK_DEBUG", False)
# The demo and tests run without a configured key; a deployment sets one.
SECRET_KEY = os.environ.get("TRIALDESK_SECRET_KEY", "trialdesk-insecure-key-for-demo-and-tests-only")
ALLOWED_HOSTS = os.environ.get("TRIALDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "trialdesk.studies",
    "trialdesk.subjects",
    "trialdesk.crf",
    "trialdesk.audit",
    "trialdesk.queries",
    "trialdesk.api",
    "trialdesk.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        },
    }
]


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
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
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

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"  # display; storage is UTC (USE_TZ)

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "web" / "static"]
STATIC_ROOT = Path(os.environ.get("TRIALDESK_STATIC_ROOT", Path.cwd() / "static"))

# Idle timeout: the session expires after N minutes without a request.
SESSION_COOKIE_AGE = int(os.environ.get("TRIALDESK_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if _env_flag("TRIALDESK_HTTPS", False):
    SECURE_HSTS_SECONDS = 31536000
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MiB: no CRF needs more

EMAIL_BACKEND = os.environ.get("TRIALDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

TRIALDESK_PROTOCOL = os.environ.get("TRIALDESK_PROTOCOL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
