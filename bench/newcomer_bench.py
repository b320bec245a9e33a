"""A new member's first walk through the largest scaled tenant, in Chromium (issue 8).

"Tried as a new user would on the scaled database, every page feels instant": this logs in as
the tenant's manager in headless Chromium against gunicorn with the production settings and
an empty cache, opens every page of the main navigation and a detail page of each list by
clicking as a person does, cancels a batch on the board, and opens the plan and the dashboard
again after that change. For every page it records the browser's own navigation timing:
when the answer began (server time), when the document was ready, and when everything was
loaded. Writes docs/benchmarks/newcomer.md.

    # the scaled database of bench/web_bench.py's docstring, then:
    DATABASE_URL=postgres://mfapp_app@127.0.0.1:5432/mfapp_scale \\
        .venv/bin/python bench/newcomer_bench.py --out docs/benchmarks/newcomer.md

Needs Debian's Chromium at /usr/bin/chromium (as the browser tests do). Cancelling the batch
changes the scaled data (a scheduled batch cancelled per walk): re-seed for a pristine database.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import web_bench

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Ready within the Doherty threshold: the page is there before attention wanders.
READY_MS = 400.0
NAVIGATION_TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {redirects: n.redirectEnd ? n.fetchStart - n.startTime : 0,
          server: n.responseStart - n.requestStart,
          ready: n.domContentLoadedEventEnd - n.fetchStart,
          loaded: n.loadEventEnd - n.fetchStart, kib: Math.round(n.decodedBodySize / 1024)};
}"""


@dataclass
class Visit:
    step: str
    path: str
    redirects_ms: float
    server_ms: float
    ready_ms: float
    loaded_ms: float
    kib: int


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _timing(page, step: str) -> Visit:
    page.wait_for_load_state("load")
    page.wait_for_function('performance.getEntriesByType("navigation")[0].loadEventEnd > 0')
    t = page.evaluate(NAVIGATION_TIMING)
    visit = Visit(
        step=step,
        path=urlsplit(page.url)._replace(scheme="", netloc="").geturl(),
        redirects_ms=t["redirects"],
        server_ms=t["server"],
        ready_ms=t["ready"],
        loaded_ms=t["loaded"],
        kib=t["kib"],
    )
    _say(
        f"{step:42} redirects {visit.redirects_ms:6.1f}  server {visit.server_ms:6.1f}"
        f"  ready {visit.ready_ms:6.1f}"
        f"  loaded {visit.loaded_ms:6.1f} ms  {visit.kib} KiB"
    )
    return visit


def _walk(page, base: str, email: str, password: str, change: bool = True) -> tuple[list, float]:
    """The visits in order, and how long the board took to show a batch's move (ms)."""
    visits = []
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    visits.append(_timing(page, "Dashboard, after logging in"))

    def nav(label: str, step: str) -> None:
        page.get_by_role("navigation").get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state("load")
        visits.append(_timing(page, step))

    def open_first(locator, step: str) -> None:
        locator.first.click()
        page.wait_for_load_state("load")
        visits.append(_timing(page, step))

    nav("Orders", "Orders")
    open_first(page.locator('td[data-label="Order"] a'), "An order (first in the list)")
    nav("Batches", "Batches board")
    open_first(page.locator(".board-card h3 a"), "A batch (first card)")
    nav("Shop floor", "Shop floor")
    nav("Plan", "Plan (Gantt, 3 days)")
    page.get_by_role("link", name="7 days").click()
    page.wait_for_load_state("load")
    visits.append(_timing(page, "Plan, 7 days"))
    nav("Products", "Products")
    open_first(page.locator('td[data-label="SKU"] a'), "A product (first in the list)")
    nav("Materials", "Materials")
    nav("Machines", "Machines")
    nav("Reports", "Reports")
    nav("Settings", "Settings (sites)")
    nav("Dashboard", "Dashboard again (cached)")
    nav("Batches", "Batches board again (cached)")

    if not change:
        return visits, 0.0
    # A change: cancel the first scheduled batch with its card's button, confirming the
    # question (htmx posts the move and swaps the board). Cancelling is always allowed.
    card = page.locator('.board-column[data-status="scheduled"] .board-card').first
    lot = card.get_attribute("data-lot")
    page.once("dialog", lambda dialog: dialog.accept())
    started = time.perf_counter()
    card.get_by_role("button", name=f"Cancel batch {lot}").click()
    page.get_by_text(f"Batch {lot} moved to cancelled.").wait_for()
    move_ms = (time.perf_counter() - started) * 1000
    _say(f"{'Cancel a batch on the board (htmx)':42} {move_ms:6.1f} ms until the board said so")

    nav("Plan", "Plan after the change")
    nav("Dashboard", "Dashboard after the change")
    return visits, move_ms


def _medians(walks: list[list[Visit]]) -> list[Visit]:
    """Each step's median over the walks (the machine is shared: one walk is noisy)."""
    return [
        Visit(
            step=steps[0].step,
            path=steps[0].path,
            **{
                name: statistics.median(getattr(v, name) for v in steps)
                for name in ("redirects_ms", "server_ms", "ready_ms", "loaded_ms")
            },
            kib=steps[0].kib,
        )
        for steps in zip(*walks, strict=True)
    ]


def _markdown(visits, move_ms: float, started: datetime, email: str, args, load) -> str:
    lines = [
        "# A new member's first walk, in Chromium",
        "",
        "Generated by `bench/newcomer_bench.py` (issue 8). Reproduce with (the scaled database "
        "of `bench/web_bench.py`'s docstring):",
        "",
        "```",
        "DATABASE_URL=... .venv/bin/python bench/newcomer_bench.py --out "
        "docs/benchmarks/newcomer.md",
        "```",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores; gunicorn 2 sync workers, production settings; the same walk "
        f"first made by the managers of {', '.join(args.warm_up) or 'no other tenant'} (a server "
        f"in use: templates compiled), with this tenant's cache empty; headless Chromium "
        f"(Debian) on the same machine. Logged in as "
        f"{email}, the largest tenant's manager. Load average at the start: "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
        "",
        f"The walk was made {args.runs} times, each with this tenant's cache emptied first; "
        "every figure is the median of its step over the walks. "
        "Each page was opened by clicking, as a person does. The cache was empty, so every "
        "page's first visit was computed from PostgreSQL and rendered; the rows marked "
        "*again* came from the cache, and the last two follow a change to the tenant's data. "
        "*Redirects*: from the click to the start of the page's own request, when the click "
        "was answered by a redirect first (logging in: the password check, deliberately slow; "
        "*Plan*: the first site's plan). *Server*: from sending the page's request to the "
        "first byte of the answer. *Ready*: the document parsed and its scripts run "
        "(DOMContentLoaded), from the start of the page's request. *Loaded*: styles, scripts "
        f"and images too. Instant: ready within {READY_MS:.0f} ms.",
        "",
        "| step | path | redirects ms | server ms | ready ms | loaded ms | KiB | instant |",
        "|---|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for v in visits:
        lines.append(
            f"| {v.step} | `{v.path}` | {v.redirects_ms:.1f} | {v.server_ms:.1f} | "
            f"{v.ready_ms:.1f} | "
            f"{v.loaded_ms:.1f} | {v.kib} | {'yes' if v.ready_ms <= READY_MS else '**no**'} |"
        )
    ready = [v.ready_ms for v in visits]
    lines += [
        "",
        f"Cancelling a batch with its card's button (after confirming; htmx posts the move and "
        f"swaps the board): {move_ms:.0f} ms (median) from the click until the new board "
        "said so.",
        "",
        f"Ready: median {statistics.median(ready):.0f} ms, slowest {max(ready):.0f} ms over "
        f"{len(visits)} page views; {sum(r <= READY_MS for r in ready)} of {len(visits)} "
        "within the threshold.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", default="scale-01")
    parser.add_argument(
        "--warm-up",
        nargs="*",
        default=["scale-02", "scale-03"],
        help="tenants whose managers walk first, as other users of a running server",
    )
    parser.add_argument("--runs", type=int, default=3, help="walks; each step's median is shown")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--out", help="write the markdown report here")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to the scaled PostgreSQL database (the app role).")
    started, load = datetime.now(UTC), os.getloadavg()
    env = web_bench._environment(os.environ["DATABASE_URL"], args.cache_url)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    os.environ.update(env)
    import django

    django.setup()
    import redis
    from playwright.sync_api import sync_playwright

    from mfapp.core.demo_data import DEMO_PASSWORD

    email = f"manager@{args.tenant}.test"
    with web_bench._gunicorn(env, args) as base, sync_playwright() as playwright:
        base = base.replace("127.0.0.1", "localhost")  # a secure context over plain HTTP
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # A server that has served other tenants: templates compiled, connections open.
            # Their cache entries are theirs; the measured tenant's stays empty.
            for other in args.warm_up:
                with browser.new_context() as context:
                    _say(f"warming up as manager@{other}.test")
                    _walk(context.new_page(), base, f"manager@{other}.test", DEMO_PASSWORD, False)
            walks, moves = [], []
            for run in range(args.runs):
                _say(f"walk {run + 1} of {args.runs} as {email}")
                redis.Redis.from_url(args.cache_url).flushdb()  # this tenant's cache empty
                with browser.new_context(viewport={"width": 1280, "height": 900}) as context:
                    visits, move_ms = _walk(context.new_page(), base, email, DEMO_PASSWORD)
                walks.append(visits)
                moves.append(move_ms)
        finally:
            browser.close()
    text = _markdown(_medians(walks), statistics.median(moves), started, email, args, load)
    _say(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
