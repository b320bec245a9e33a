"""Static files in production: collected with content hashes, compressed (gzip and Brotli), and
served by WhiteNoise with a year-long immutable cache, so a page's assets are fetched once."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client
call_command("collectstatic", "--noinput", verbosity=0)
url = static("css/mfapp.css")
client = Client(SERVER_NAME="localhost", headers={"X-Forwarded-Proto": "https"})
answers = {}
for encoding in ("br", "gzip", "identity"):
    response = client.get(url, headers={"Accept-Encoding": encoding})
    answers[encoding] = {
        "status": response.status_code,
        "encoding": response.headers.get("Content-Encoding"),
        "cache": response.headers.get("Cache-Control"),
        "length": int(response.headers["Content-Length"]),
    }
print(json.dumps({"url": url, "answers": answers}))
"""


def test_collected_static_files_are_hashed_compressed_and_cached_for_a_year(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "mfapp.settings.production",
        "DJANGO_SECRET_KEY": "static-files-test-key-not-a-secret-0123456789-abcdefghijklmn",
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "MFAPP_CACHE_URL": "redis://127.0.0.1:6379/2",
        "MFAPP_STATIC_ROOT": str(tmp_path / "static"),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])

    # The content hash is in the name: /static/css/mfapp.<12 hex>.css
    assert re.fullmatch(r"/static/css/mfapp\.[0-9a-f]{12}\.css", found["url"]), found["url"]
    answers = found["answers"]
    year = "max-age=315360000, public, immutable"
    assert {e: (a["status"], a["encoding"], a["cache"]) for e, a in answers.items()} == {
        "br": (200, "br", year),
        "gzip": (200, "gzip", year),
        "identity": (200, None, year),
    }
    assert answers["br"]["length"] < answers["gzip"]["length"] < answers["identity"]["length"] / 2
