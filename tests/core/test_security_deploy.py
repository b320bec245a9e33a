"""`manage.py check --deploy` passes on the production settings with the documented variables
(README, Configuration), and production keeps its cookies secure and HSTS on."""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _production_env() -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "mfapp.settings.production",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(64)),
        "DJANGO_ALLOWED_HOSTS": "mfapp.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://mfapp.example.com",
        "DATABASE_URL": "postgres://mfapp:secret@db.example.com:5432/mfapp",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
        "MFAPP_CACHE_URL": "redis://redis.example.com:6379/2",
    }


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deployment_checklist_passes_on_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_sends_secure_cookies_hsts_and_the_policy():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 31536000, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF, "
        "s.SECURE_REFERRER_POLICY, s.AXES_ENABLED, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'])"
    )

    result = _manage("shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "True True True True True True DENY True same-origin True [\"'self'\"]"
    )
