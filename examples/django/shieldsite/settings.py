"""Settings for a Django site that sits behind Bulwark (runs with Debian's python3-django, no pip)."""
import os
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SHIELDSITE_DATA", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"

# --- Behind Bulwark ---------------------------------------------------------------------------
# The public host names Bulwark serves for this site (Bulwark forwards the client's Host).
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,example.test").split(",")
# Bulwark sets X-Forwarded-Host / X-Forwarded-Proto; trust them because only Bulwark can reach us.
USE_X_FORWARDED_HOST = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Django 3.2 takes host names here, Django 4+ wants scheme://host: give host names, we write the right form.
_csrf_hosts = os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "localhost,127.0.0.1,example.test").split(",")
if django.VERSION >= (4, 0):
    CSRF_TRUSTED_ORIGINS = [f"{scheme}://{h}" for h in _csrf_hosts for scheme in ("https", "http")]
else:
    CSRF_TRUSTED_ORIGINS = _csrf_hosts
# Addresses of the Bulwark instances: only from these peers is X-Forwarded-For believed.
BULWARK_PROXIES = os.environ.get("BULWARK_PROXIES", "127.0.0.1,::1").split(",")
# ----------------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "notes",
]

MIDDLEWARE = [
    "notes.middleware.RealClientIpMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shieldsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "shieldsite.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
MEDIA_ROOT = DATA_DIR / "media"
LOGIN_REDIRECT_URL = "/whoami/"

# Every request that reaches Django is written to DATA_DIR/requests.log, so a test can prove what never arrived.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "requests": {"class": "logging.FileHandler", "filename": str(DATA_DIR / "requests.log")},
        "console": {"class": "logging.StreamHandler"},
    },
    "loggers": {
        "shieldsite.requests": {"handlers": ["requests"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
