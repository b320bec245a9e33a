"""Web and API throughput against gunicorn on PostgreSQL, measured with wrk (issue 8).

Every target is measured in the same run as `/healthz`, the ceiling of this machine (a view
that touches neither the database nor a template), and reported as requests per second,
latency percentiles and the ratio to that ceiling, so the figures compare within one run even
on a shared, noisy machine.

    # once: the application's roles (docker/postgres-init/10-app-role.sh does it in docker),
    # a scaled database migrated by the owner, filled by the app role, analyzed by the owner
    psql -h 127.0.0.1 -U postgres -c "CREATE ROLE mfapp_app LOGIN NOINHERIT" \\
        -c "CREATE ROLE mfapp_app_platform NOLOGIN" -c "GRANT mfapp_app_platform TO mfapp_app" \\
        -c "CREATE DATABASE mfapp_scale"
    MFAPP_DATABASE_APP_ROLE=mfapp_app DATABASE_URL=postgres://postgres@127.0.0.1:5432/mfapp_scale \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://mfapp_app@127.0.0.1:5432/mfapp_scale \\
        .venv/bin/python manage.py seed_scale --tenants 20 --orders-per-tenant 5000 --jobs 2
    psql -h 127.0.0.1 -U postgres mfapp_scale -c "VACUUM ANALYZE" \\
        -c "ALTER DATABASE mfapp_scale SET random_page_cost = 1.1"  # as docker/compose.yml
    DATABASE_URL=postgres://mfapp_app@127.0.0.1:5432/mfapp_scale \\
        .venv/bin/python bench/web_bench.py --out docs/benchmarks/web.md

A third phase measures what one person sees: each page's first view after a change to the
tenant's data (the data version moved on before every request, so nothing is served from the
cache), one request at a time, against the same server with the cache on.

Needs `wrk` (Debian package) on PATH and gunicorn (a dependency). The gunicorn workers run
with the production settings (DEBUG off, manifest static files, row-level security) over
plain HTTP; wrk, gunicorn and PostgreSQL share the machine's cores.
"""

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    'MFAPP {"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "socket_errors": %d,'
    .. ' "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""

# (name, kind) — kind says which credential the request carries.
TARGETS = [
    ("/healthz", "none"),
    ("orders list API", "key"),
    ("batches list API", "key"),
    ("order detail API", "key"),
    ("order detail page", "session"),
    ("dashboard", "session"),
    ("batches board", "session"),
    ("Gantt page", "session"),
]
TARGETS_MET = {
    # name: (min ratio to /healthz, max p95 ms, max p99 ms)
    "orders list API": (0.5, None, 100.0),
    "batches list API": (0.5, None, 100.0),
    "dashboard": (None, 150.0, None),
    "batches board": (None, 150.0, None),
}

# One person's first view after a change "feels instant": the median within 250 ms and the
# slowest within the Doherty threshold (400 ms), the pace at which people stop waiting.
FIRST_VIEWS = 10
FIRST_VIEW_MEDIAN_MS = 250.0
FIRST_VIEW_WORST_MS = 400.0


@dataclass
class FirstView:
    name: str
    path: str
    median_ms: float
    worst_ms: float
    next_ms: float  # the view after it, unchanged data: from the cache
    kib: int


@dataclass
class Result:
    phase: str
    name: str
    path: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    ratio: float = 0.0


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _environment(database_url: str, cache_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mfapp.settings.production",
        "DATABASE_URL": database_url,
        "MFAPP_CACHE_URL": cache_url,
        "DJANGO_SECRET_KEY": "web-bench-not-a-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def _credentials(tenant_slug: str | None) -> tuple[dict[str, str], str, str, int]:
    """(paths by target name, session cookie, API key, tenant id) for the largest (or named)
    tenant."""
    import django

    django.setup()
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from mfapp.core import rls
    from mfapp.orders.models import Order
    from mfapp.tenancy.actors import Actor
    from mfapp.tenancy.models import Membership, Site, Tenant
    from mfapp.tenancy.services import api_key_create

    with rls.platform_access(reason="web benchmark set-up"):
        if tenant_slug:
            tenant = Tenant.objects.get(slug=tenant_slug)
        else:
            counts = (
                Order.objects.all_tenants().values("tenant").annotate(n=Count("id")).order_by("-n")
            )
            tenant = Tenant.objects.get(pk=counts[0]["tenant"])
    with rls.tenant_context(tenant.pk):
        owner = (
            Membership.objects.for_tenant(tenant)
            .filter(role=Membership.Role.OWNER)
            .select_related("user")
            .first()
            .user
        )
        _, raw_key = api_key_create(
            actor=Actor(tenant=tenant, role="owner", user=owner), name=f"web-bench {time.time()}"
        )
        order = Order.objects.for_tenant(tenant).order_by("-created_at").first()
        site = Site.objects.for_tenant(tenant).order_by("pk").first()
        client = Client()
        client.force_login(owner)
        session = client.cookies["sessionid"].value
        _say(f"tenant {tenant.slug}: {Order.objects.for_tenant(tenant).count()} orders")
    paths = {
        "/healthz": "/healthz",
        "orders list API": "/api/v1/orders/",
        "batches list API": "/api/v1/batches/",
        "order detail API": f"/api/v1/orders/{order.pk}/",
        "order detail page": reverse("orders:order-detail", args=[order.pk]),
        "dashboard": reverse("home"),
        "batches board": reverse("production:batch-board"),
        "Gantt page": reverse("scheduling:gantt", args=[site.pk]),
    }
    return paths, session, raw_key, tenant.pk


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str) -> None:
    import urllib.request

    for _ in range(120):
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _headers(kind: str, session: str, key: str) -> list[str]:
    if kind == "session":
        return ["-H", f"Cookie: sessionid={session}"]
    if kind == "key":
        return ["-H", f"Authorization: Bearer {key}"]
    return []


def _get(base: str, path: str, headers: list[str]) -> tuple[float, int]:
    """One request: (milliseconds until the whole answer arrived, its size in bytes). Stops
    the run unless the answer is a 200 at the URL asked for (no redirect to the login)."""
    import urllib.request

    request = urllib.request.Request(base + path)  # noqa: S310 - our own server, http
    for flag, value in zip(headers[::2], headers[1::2], strict=True):
        assert flag == "-H"
        name, _, content = value.partition(": ")
        request.add_header(name, content)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = response.read()
        if response.status != 200 or response.geturl() != base + path:
            raise SystemExit(f"{path}: {response.status} at {response.geturl()}, not 200")
    return (time.perf_counter() - started) * 1000, len(body)


def _wrk(url: str, headers: list[str], args: argparse.Namespace, script: str) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        script,
        *headers,
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(line for line in output.splitlines() if line.startswith("MFAPP "))
    return json.loads(line[len("MFAPP ") :])


def _measure(
    phase: str, name: str, path: str, base: str, headers: list[str], args, script
) -> Result:
    _wrk(base + path, headers, argparse.Namespace(**{**vars(args), "duration": 2}), script)
    raw = _wrk(base + path, headers, args, script)
    seconds = raw["duration_us"] / 1e6
    result = Result(
        phase=phase,
        name=name,
        path=path,
        rps=raw["requests"] / seconds,
        p50_ms=raw["p50_ms"],
        p95_ms=raw["p95_ms"],
        p99_ms=raw["p99_ms"],
        max_ms=raw["max_ms"],
        requests=raw["requests"],
        non_2xx=raw["non_2xx_3xx"],
        socket_errors=raw["socket_errors"],
    )
    _say(
        f"{phase:9} {name:20} {result.rps:8.1f} req/s  p50 {result.p50_ms:6.1f}"
        f"  p95 {result.p95_ms:6.1f}  p99 {result.p99_ms:6.1f} ms  non-2xx {result.non_2xx}"
    )
    return result


def _verdicts(results: list[Result], phase: str) -> list[tuple[str, str, bool]]:
    rows = []
    by_name = {r.name: r for r in results if r.phase == phase}
    for name, (ratio, p95, p99) in TARGETS_MET.items():
        r = by_name[name]
        if ratio is not None:
            rows.append((f"{name}: >= {ratio:.0%} of /healthz", f"{r.ratio:.0%}", r.ratio >= ratio))
        if p99 is not None:
            rows.append((f"{name}: p99 < {p99:.0f} ms", f"{r.p99_ms:.1f} ms", r.p99_ms < p99))
        if p95 is not None:
            rows.append((f"{name}: p95 < {p95:.0f} ms", f"{r.p95_ms:.1f} ms", r.p95_ms < p95))
    failures = sum(r.non_2xx + r.socket_errors for r in by_name.values())
    rows.append(("zero non-2xx responses or socket errors", str(failures), failures == 0))
    return rows


PHASES = {
    "cached": (
        "As deployed: reads answered from the tenant cache (Redis) while the tenant's data is "
        "unchanged. wrk repeats one URL, so after the first request every read is a hit: "
        "this is an integration polling a list, or people reloading a page."
    ),
    "uncached": (
        "The same server with the cache off (`MFAPP_CACHE_URL=off`): every request queries "
        "PostgreSQL and renders, as the first read after a change does."
    ),
}


def _markdown(results: list[Result], args, started: datetime, load: tuple, command: str) -> str:
    lines = [
        "# Web and API benchmarks",
        "",
        "Generated by `bench/web_bench.py` (issue 8). Reproduce with (see the script's docstring",
        "for creating the scaled database):",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; gunicorn "
        f"{args.workers} sync workers, production settings, PostgreSQL as the application "
        f"role (row-level security on); wrk {args.threads} threads, {args.connections} "
        f"connections, {args.duration} s per target after a 2 s warm-up. wrk, gunicorn, "
        f"PostgreSQL and Redis share the cores. Load average at the start: "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
        "",
        "Each phase starts its own gunicorn. `/healthz` is the ceiling (no database, no "
        "template); it ran first and last in each phase, and *ratio* is each target's "
        "requests per second over their mean in that phase.",
    ]
    for phase, description in PHASES.items():
        lines += [
            "",
            f"## {phase.capitalize()}",
            "",
            description,
            "",
            "| target | path | req/s | ratio | p50 ms | p95 ms | p99 ms | max ms | requests |"
            " non-2xx |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results:
            if r.phase != phase:
                continue
            lines.append(
                f"| {r.name} | `{r.path}` | {r.rps:.1f} | {r.ratio:.2f} | {r.p50_ms:.1f} | "
                f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.requests} | "
                f"{r.non_2xx + r.socket_errors} |"
            )
        lines += ["", f"Targets ({phase}):", "", "| target | measured | met |", "|---|---|:---:|"]
        for label, measured, met in _verdicts(results, phase):
            lines.append(f"| {label} | {measured} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n"


@contextmanager
def _gunicorn(env: dict[str, str], args: argparse.Namespace) -> Iterator[str]:
    """A gunicorn serving the application; yields its base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our gunicorn, our arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "mfapp.wsgi:application",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_until_up(base)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _phase(phase: str, env: dict[str, str], paths, session, key, args, script) -> list[Result]:
    with _gunicorn(env, args) as base:
        for name, kind in TARGETS:
            _get(base, paths[name], _headers(kind, session, key))
        results = [
            _measure(phase, name, paths[name], base, _headers(kind, session, key), args, script)
            for name, kind in TARGETS
        ]
        results.append(_measure(phase, "/healthz (again)", "/healthz", base, [], args, script))
    ceiling = (results[0].rps + results[-1].rps) / 2
    for result in results:
        result.ratio = result.rps / ceiling
    return results


def _first_views(env, paths, session, key, tenant_id: int, args) -> list[FirstView]:
    from mfapp.core.tenant_cache import mark_changed

    views = []
    with _gunicorn(env, args) as base:
        for name, kind in TARGETS[1:]:
            headers = _headers(kind, session, key)
            for _ in range(2 * args.workers):  # every worker has served this page once
                _get(base, paths[name], headers)
            firsts, nexts = [], []
            for _ in range(FIRST_VIEWS):
                mark_changed(tenant_id)
                elapsed, size = _get(base, paths[name], headers)
                firsts.append(elapsed)
                nexts.append(_get(base, paths[name], headers)[0])
            view = FirstView(
                name=name,
                path=paths[name],
                median_ms=statistics.median(firsts),
                worst_ms=max(firsts),
                next_ms=statistics.median(nexts),
                kib=round(size / 1024),
            )
            _say(
                f"first view {name:20} median {view.median_ms:6.1f}  worst {view.worst_ms:6.1f}"
                f"  next {view.next_ms:5.1f} ms  {view.kib} KiB"
            )
            views.append(view)
    return views


def _instant(view: FirstView) -> bool:
    return view.median_ms <= FIRST_VIEW_MEDIAN_MS and view.worst_ms <= FIRST_VIEW_WORST_MS


def _first_view_markdown(views: list[FirstView]) -> list[str]:
    lines = [
        "",
        "## First view after a change (one person)",
        "",
        f"What one person waits for: each page requested {FIRST_VIEWS} times, one request at a "
        "time, each right after the tenant's data version moved on (as any committed write "
        "moves it), so every answer is computed from PostgreSQL and rendered; *next view* is "
        "the same page again with the data unchanged (from the cache). Times are from sending "
        "the request to the last byte of the answer, on the same server as the cached phase. "
        f"*Instant*: median within {FIRST_VIEW_MEDIAN_MS:.0f} ms and the slowest within "
        f"{FIRST_VIEW_WORST_MS:.0f} ms (docs/decisions.md).",
        "",
        "| page | path | median ms | slowest ms | next view ms | KiB | instant |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for v in views:
        lines.append(
            f"| {v.name} | `{v.path}` | {v.median_ms:.1f} | {v.worst_ms:.1f} | {v.next_ms:.1f} | "
            f"{v.kib} | {'yes' if _instant(v) else '**no**'} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", help="tenant slug (default: the one with most orders)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15, help="seconds per target")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--cache-url", default="redis://127.0.0.1:6379/13", help="Redis for the cached phase"
    )
    parser.add_argument("--out", help="write the markdown table here")
    parser.add_argument("--raw", help="write the raw figures as JSON here")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to the scaled PostgreSQL database (the app role).")
    started, load = datetime.now(UTC), os.getloadavg()
    env = _environment(os.environ["DATABASE_URL"], args.cache_url)
    os.environ.update(env)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    paths, session, key, tenant_id = _credentials(args.tenant)
    import redis

    redis.Redis.from_url(args.cache_url).flushdb()  # the cached phase starts cold
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    results = _phase("cached", env, paths, session, key, args, script.name)
    results += _phase(
        "uncached", {**env, "MFAPP_CACHE_URL": "off"}, paths, session, key, args, script.name
    )
    views = _first_views(env, paths, session, key, tenant_id, args)
    command = "DATABASE_URL=... .venv/bin/python bench/web_bench.py " + " ".join(sys.argv[1:])
    text = _markdown(results, args, started, load, command.strip())
    text += "\n".join(_first_view_markdown(views)) + "\n"
    _say(text)
    if args.out:
        Path(args.out).write_text(text)
    if args.raw:
        raw = {"load": [asdict(r) for r in results], "first_views": [asdict(v) for v in views]}
        Path(args.raw).write_text(json.dumps(raw, indent=2) + "\n")


if __name__ == "__main__":
    main()
