"""The Gantt chart of one site as positioned shapes, drawn by the template as server-side SVG.

Everything here is arithmetic on rows already read (no queries): machines are rows; planned,
running and finished operations are bars coloured by order; maintenance windows are hatched;
hours outside the site's working time are shaded on rows of machines that need an operator; the
present moment is a vertical line. Times are shown in the site's timezone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from zoneinfo import ZoneInfo

from django.utils.safestring import SafeString, mark_safe

from mfapp.core.web import id_urls
from mfapp.machines.models import Machine, MaintenanceWindow
from mfapp.production.models import BatchOperation
from mfapp.scheduling.adapter import subtract, working_windows
from mfapp.scheduling.selectors import PlannedOperation
from mfapp.tenancy.models import Site

LABEL_WIDTH = 180
CHART_WIDTH = 1120
HEADER_HEIGHT = 44
ROW_HEIGHT = 36
BAR_HEIGHT = 24
CHAR_WIDTH = 6.4  # of the 11 px label font, to decide how much of a label fits in a bar
WINDOW_DAYS = (1, 3, 7, 14)
DEFAULT_DAYS = 3
# Colours by order, distinguishable and dark enough for white text; the legend names each.
PALETTE = (
    "#1f77b4", "#d9480f", "#2b8a3e", "#862e9c", "#0b7285", "#c2255c",
    "#5c940d", "#364fc7", "#a61e4d", "#e67700", "#495057", "#087f5b",
)  # fmt: skip


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    colour: str
    label: str
    title: str
    late: bool
    state: str  # pending, running, paused, done
    operation: PlannedOperation
    # Written out here rather than by template filters and tags: a busy site's chart has
    # thousands of bars, and per-bar filters were most of its rendering time.
    url: str
    start_label: str  # "Thu 26 Nov 18:20" in the site's timezone
    end_label: str

    @property
    def svg_x(self) -> str:
        return svg_number(self.x)

    @property
    def svg_y(self) -> str:
        return svg_number(self.y)

    @property
    def svg_width(self) -> str:
        return svg_number(self.width)


@dataclass(frozen=True)
class Shade:
    x: float
    width: float
    y: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    major: bool


@dataclass
class Row:
    machine: Machine
    y: float
    bars: list[Bar] = field(default_factory=list)
    maintenance: list[Shade] = field(default_factory=list)
    closed: list[Shade] = field(default_factory=list)

    # The bars and their rows of the plan table are written here, not by the template: a busy
    # site's week is a thousand bars, and template variables were most of the page's time.
    @property
    def bars_svg(self) -> SafeString:
        return _joined(_bar_svg(bar) for bar in self.bars)

    @property
    def table_rows(self) -> SafeString:
        return _joined(_table_row(self.machine.name, bar) for bar in self.bars)


@dataclass(frozen=True)
class OrderKey:
    label: str
    colour: str
    due: date | None
    late: bool


@dataclass
class GanttChart:
    site: Site
    start: datetime
    end: datetime
    rows: list[Row]
    ticks: list[Tick]
    legend: list[OrderKey]
    now_x: float | None
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    header_height: int = HEADER_HEIGHT
    bar_height: int = BAR_HEIGHT
    row_height: int = ROW_HEIGHT

    @property
    def bar_count(self) -> int:
        return sum(len(row.bars) for row in self.rows)

    @property
    def late_operations(self) -> int:
        return sum(bar.late for row in self.rows for bar in row.bars)

    @property
    def chart_right(self) -> int:
        return self.width


def window_start(*, site: Site, first_day: date) -> datetime:
    return datetime.combine(first_day, time(0, 0), tzinfo=ZoneInfo(site.timezone))


def _due_at(operation: PlannedOperation, tz: ZoneInfo) -> datetime | None:
    """An order is due by the end of its due date at the site."""
    if operation.due_date is None:
        return None
    return datetime.combine(operation.due_date + timedelta(days=1), time(0, 0), tzinfo=tz)


def _span(operation: PlannedOperation, now: datetime) -> tuple[datetime, datetime] | None:
    status = operation.status
    if status == BatchOperation.Status.PENDING:
        if operation.planned_start is None or operation.planned_end is None:
            return None
        return operation.planned_start, operation.planned_end
    if status in (BatchOperation.Status.RUNNING, BatchOperation.Status.PAUSED):
        if operation.actual_start is None:
            return None
        end = operation.planned_end if operation.planned_end is not None else now
        return operation.actual_start, max(end, now, operation.actual_start)
    if operation.actual_start is None or operation.actual_end is None:
        return None
    return operation.actual_start, operation.actual_end


def build_chart(
    *,
    site: Site,
    machines: Iterable[Machine],
    operations: Iterable[PlannedOperation],
    maintenance: Iterable[MaintenanceWindow],
    start: datetime,
    days: int,
    now: datetime,
) -> GanttChart:
    tz = ZoneInfo(site.timezone)
    end = start + timedelta(days=days)
    total_minutes = (end - start).total_seconds() / 60
    scale = CHART_WIDTH / total_minutes  # px per minute

    def x_of(moment: datetime) -> float:
        minutes = (moment - start).total_seconds() / 60
        return LABEL_WIDTH + max(0.0, min(total_minutes, minutes)) * scale

    machines = list(machines)
    rows = {
        m.pk: Row(machine=m, y=HEADER_HEIGHT + index * ROW_HEIGHT)
        for index, m in enumerate(machines)
    }
    horizon = int(total_minutes)
    open_windows = working_windows(site=site, origin=start, horizon=horizon)
    closed = subtract([(0, horizon)], open_windows)
    for row in rows.values():
        if row.machine.runs_unattended:
            continue
        for lo, hi in closed:
            row.closed.append(
                Shade(
                    x=LABEL_WIDTH + lo * scale,
                    width=(hi - lo) * scale,
                    y=row.y,
                    height=ROW_HEIGHT,
                    title="Closed (outside working hours)",
                )
            )
    for window in maintenance:
        row = rows.get(window.machine_id)
        if row is None:
            continue
        x0, x1 = x_of(window.starts_at), x_of(window.ends_at)
        row.maintenance.append(
            Shade(
                x=x0,
                width=max(1.0, x1 - x0),
                y=row.y + 2,
                height=ROW_HEIGHT - 4,
                title=f"Maintenance {_period(window.starts_at, window.ends_at, tz)}: "
                f"{window.reason}",
            )
        )

    legend: dict[str, OrderKey] = {}
    batch_url = id_urls("production:batch-detail")
    for operation in operations:
        row = rows.get(operation.machine_id)
        span = _span(operation, now)
        if row is None or span is None:
            continue
        op_start, op_end = span
        if op_end <= start or op_start >= end:
            continue
        due = _due_at(operation, tz)
        late = due is not None and op_end > due
        order = operation.order_number or "stock"
        colour = PALETTE[(operation.order_id or 0) % len(PALETTE)]
        x0, x1 = x_of(op_start), x_of(op_end)
        width = max(2.0, x1 - x0)
        text = f"{'LATE ' if late else ''}{order} · {operation.lot_code}"
        fits = int((width - 6) / CHAR_WIDTH)
        label = text if len(text) <= fits else (text[: fits - 1] + "…" if fits >= 4 else "")
        title = (
            f"{order} · {operation.lot_code} · {operation.product_name} · "
            f"{operation.sequence}. {operation.name} · {_period(op_start, op_end, tz)}"
            f" · {operation.status_display}"
        )
        if operation.due_date is not None:
            title += f" · due {operation.due_date:%a %d %b}"
        if late:
            title += " · LATE"
        row.bars.append(
            Bar(
                x=x0,
                width=width,
                y=row.y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                colour=colour,
                label=label,
                title=title,
                late=late,
                state=operation.status,
                operation=operation,
                url=batch_url(operation.batch_id),
                start_label=_moment(op_start, tz),
                end_label=_moment(op_end, tz),
            )
        )
        key = legend.get(order)
        legend[order] = OrderKey(
            label=order,
            colour=colour,
            due=operation.due_date,
            late=late or (key is not None and key.late),
        )

    now_x = x_of(now) if start <= now < end else None
    return GanttChart(
        site=site,
        start=start,
        end=end,
        rows=list(rows.values()),
        ticks=_ticks(start=start, days=days, scale=scale, tz=tz),
        legend=sorted(legend.values(), key=lambda k: (k.due or date.max, k.label)),
        now_x=now_x,
        width=LABEL_WIDTH + CHART_WIDTH,
        height=HEADER_HEIGHT + max(1, len(rows)) * ROW_HEIGHT,
    )


def _joined(parts: Iterable[str]) -> SafeString:
    return mark_safe("".join(parts))  # noqa: S308 - every part built by the escaping functions below


# The escaping `django.utils.html.escape` does (it runs `html.escape`), without its per-call
# lazy-string check: at thousands of values a page, that check alone took tens of milliseconds.
def _bar_svg(bar: Bar) -> str:
    classes = "bar" + (" late" if bar.late else "") + (" fixed" if bar.state != "pending" else "")
    opacity = ' fill-opacity="0.45"' if bar.state == "done" else ""
    x, y = bar.svg_x, bar.svg_y
    label = (
        f'<text x="{x}" dx="4" y="{y}" dy="16" fill="#fff" font-weight="600">'
        f"{escape(bar.label)}</text>"
        if bar.label
        else ""
    )
    return (
        f'<g class="op op-{escape(bar.state)}"><title>{escape(bar.title)}</title>'
        f'<a href="{escape(bar.url)}"><rect class="{classes}" x="{x}" y="{y}" '
        f'width="{bar.svg_width}" height="{BAR_HEIGHT}" rx="3" fill="{escape(bar.colour)}"'
        f"{opacity}></rect>{label}</a></g>\n"
    )


def _table_row(machine_name: str, bar: Bar) -> str:
    operation = bar.operation
    late = ' <span class="chip status-late">Late</span>' if bar.late else ""
    cells = (
        ("Machine", escape(machine_name)),
        ("Order", escape(operation.order_number or "stock")),
        ("Lot", escape(operation.lot_code)),
        ("Operation", f"{operation.sequence}. {escape(operation.name)}"),
        ("Start", escape(bar.start_label)),
        ("End", escape(bar.end_label)),
        (
            "Status",
            f'<span class="chip status-{escape(bar.state)}">'
            f"{escape(operation.status_display)}</span>{late}",
        ),
    )
    return "<tr>" + "".join(f'<td data-label="{n}">{v}</td>' for n, v in cells) + "</tr>\n"


def svg_number(value: float) -> str:
    """A coordinate with one decimal, as the template filter `floatformat:'1u'` writes it
    (halves rounded up, never "-0.0")."""
    rounded = Decimal(repr(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{abs(rounded) if rounded == 0 else rounded:f}"


def _moment(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def _period(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    def clock(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%a %d %b %H:%M")

    return f"{clock(start)} to {clock(end)}"


def _ticks(*, start: datetime, days: int, scale: float, tz: ZoneInfo) -> list[Tick]:
    """A major tick with the date at each midnight, minor ticks with the hour between."""
    step_hours = {1: 2, 3: 6, 7: 12}.get(days, 24)
    ticks: list[Tick] = []
    local_start = start.astimezone(tz)
    for day in range(days):
        midnight = datetime.combine(local_start.date() + timedelta(days=day), time(0), tzinfo=tz)
        for hour in range(0, 24, step_hours):
            moment = midnight + timedelta(hours=hour)
            x = LABEL_WIDTH + (moment - start).total_seconds() / 60 * scale
            if hour == 0:
                ticks.append(Tick(x=x, label=moment.strftime("%a %d %b"), major=True))
            else:
                ticks.append(Tick(x=x, label=moment.strftime("%H:%M"), major=False))
    return ticks
