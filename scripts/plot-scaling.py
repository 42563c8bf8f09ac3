#!/usr/bin/env python3
"""Draw the scaling measurements of scripts/measure-scaling.sh as SVG charts (standard library
only, no plotting package): docs/PERFORMANCE.md §5 embeds them.

    python3 scripts/plot-scaling.py CSV_DIR OUT_DIR

CSV_DIR holds validators.csv and load.csv as written by measure-scaling.sh (columns: point —
the validator count n, or the offered load in requests/s —, validators, requests, messages,
expected_messages, events, wall_s_median, wall_s_min, wall_s_max, p50_ms). Writes
OUT_DIR/scaling-validators.svg and OUT_DIR/scaling-load.svg, three panels each: events per
request (with PBFT's message count per request, 2n² − n + 1), wall time (median, min–max
whiskers; an n² guide or a linear fit through the origin) and the cost per event.
"""
import csv
import math
import sys
from pathlib import Path

W, H = 330, 260  # one panel
ML, MR, MT, MB = 62, 12, 30, 46  # margins
FONT = 'font-family="DejaVu Sans, Verdana, sans-serif"'
BLUE, ORANGE, GREY = "#1f77b4", "#d95f02", "#777777"


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no data rows")
    return rows


def nice_linear_ticks(lo, hi, count=5):
    span = hi - lo if hi > lo else abs(hi) or 1.0
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.floor(lo / step) * step
    ticks, t = [first], first
    while ticks[-1] < hi - step * 1e-9:  # up to the first tick at or above `hi`
        t += step
        ticks.append(round(t, 12))
    return ticks


def log_ticks(lo, hi):
    return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


class Panel:
    """One chart: axes, ticks, series. `xlog`/`ylog` pick logarithmic axes."""

    def __init__(self, ox, title, xlabel, ylabel, xs, ys, xlog, ylog, xticks=None):
        self.ox, self.xlog, self.ylog = ox, xlog, ylog
        self.parts = []
        lo_x, hi_x = min(xs), max(xs)
        lo_y, hi_y = min(ys), max(ys)
        if ylog:
            self.yticks = log_ticks(lo_y, hi_y)
            self.y0, self.y1 = self.yticks[0], self.yticks[-1]
        else:
            self.yticks = nice_linear_ticks(0.0, hi_y * 1.05)
            self.y0, self.y1 = self.yticks[0], self.yticks[-1]
        if xticks is not None:
            self.xticks = xticks
            self.x0, self.x1 = (lo_x / 1.3, hi_x * 1.3) if xlog else (0.0, hi_x * 1.08)
        elif xlog:
            self.xticks = log_ticks(lo_x, hi_x)
            self.x0, self.x1 = self.xticks[0], self.xticks[-1]
        else:
            self.xticks = nice_linear_ticks(0.0, hi_x)
            self.x0, self.x1 = 0.0, max(self.xticks[-1], hi_x)
        self.frame(title, xlabel, ylabel)

    def px(self, x):
        f = (math.log(x) - math.log(self.x0)) / (math.log(self.x1) - math.log(self.x0)) if self.xlog else (x - self.x0) / (self.x1 - self.x0)
        return self.ox + ML + f * (W - ML - MR)

    def py(self, y):
        f = (math.log(y) - math.log(self.y0)) / (math.log(self.y1) - math.log(self.y0)) if self.ylog else (y - self.y0) / (self.y1 - self.y0)
        return H - MB - f * (H - MT - MB)

    def frame(self, title, xlabel, ylabel):
        p = self.parts
        x_left, x_right, y_top, y_bottom = self.ox + ML, self.ox + W - MR, MT, H - MB
        p.append(f'<text x="{self.ox + W / 2:.1f}" y="18" text-anchor="middle" font-size="12" font-weight="bold" {FONT}>{title}</text>')
        for t in self.yticks:
            y = self.py(t)
            p.append(f'<line x1="{x_left}" x2="{x_right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>')
            p.append(f'<text x="{x_left - 4}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" {FONT}>{fmt(t)}</text>')
        for t in self.xticks:
            x = self.px(t)
            p.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y_top}" y2="{y_bottom}" stroke="#f0f0f0"/>')
            p.append(f'<text x="{x:.1f}" y="{y_bottom + 14}" text-anchor="middle" font-size="10" {FONT}>{fmt(t)}</text>')
        p.append(f'<rect x="{x_left}" y="{y_top}" width="{x_right - x_left}" height="{y_bottom - y_top}" fill="none" stroke="#444"/>')
        p.append(f'<text x="{self.ox + ML + (W - ML - MR) / 2:.1f}" y="{H - 10}" text-anchor="middle" font-size="11" {FONT}>{xlabel}</text>')
        cy = MT + (H - MT - MB) / 2
        p.append(f'<text transform="translate({self.ox + 14},{cy:.1f}) rotate(-90)" text-anchor="middle" font-size="11" {FONT}>{ylabel}</text>')

    def line(self, xs, ys, color, dash=None):
        pts = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in zip(xs, ys))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.6"{d}/>')

    def points(self, xs, ys, color, lows=None, highs=None):
        for i, (x, y) in enumerate(zip(xs, ys)):
            cx, cy = self.px(x), self.py(y)
            if lows is not None:
                y_lo, y_hi = self.py(lows[i]), self.py(highs[i])
                self.parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_lo:.1f}" y2="{y_hi:.1f}" stroke="{color}"/>')
                for yy in (y_lo, y_hi):
                    self.parts.append(f'<line x1="{cx - 3:.1f}" x2="{cx + 3:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{color}"/>')
            self.parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{color}"/>')

    def legend(self, entries):
        y = MT + 14
        for label, color, dash in entries:
            x = self.ox + ML + 8
            d = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" stroke-width="1.6"{d}/>')
            self.parts.append(f'<text x="{x + 22}" y="{y}" font-size="10" {FONT}>{label}</text>')
            y += 14


def write_svg(path, panels, caption):
    width = W * len(panels)
    body = "\n".join(part for panel in panels for part in panel.parts)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H + 22}" viewBox="0 0 {width} {H + 22}">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n'
        f'<text x="8" y="{H + 14}" font-size="10" fill="{GREY}" {FONT}>{caption}</text>\n</svg>\n'
    )
    Path(path).write_text(svg)
    print(f"wrote {path}")


def columns(rows):
    col = lambda k: [float(r[k]) for r in rows]  # noqa: E731
    return {k: col(k) for k in rows[0]}


def validators_chart(rows, path):
    c = columns(rows)
    n, req = c["point"], c["requests"]
    ev_req = [e / q for e, q in zip(c["events"], req)]
    msg_req = [2 * x * x - x + 1 for x in n]
    ms_req = [1e3 * w / q for w, q in zip(c["wall_s_median"], req)]
    ms_lo = [1e3 * w / q for w, q in zip(c["wall_s_min"], req)]
    ms_hi = [1e3 * w / q for w, q in zip(c["wall_s_max"], req)]
    us_ev = [1e6 * w / e for w, e in zip(c["wall_s_median"], c["events"])]
    us_lo = [1e6 * w / e for w, e in zip(c["wall_s_min"], c["events"])]
    us_hi = [1e6 * w / e for w, e in zip(c["wall_s_max"], c["events"])]
    ticks = n
    a = Panel(0, "Events per request", "validators n", "per request", n, ev_req + msg_req, True, True, ticks)
    a.line(n, msg_req, ORANGE, "5,3")
    a.line(n, ev_req, BLUE)
    a.points(n, ev_req, BLUE)
    a.legend([("events", BLUE, None), ("messages 2n²−n+1", ORANGE, "5,3")])
    # An n² guide through the n = 16 point (or the middle one).
    k = n.index(16.0) if 16.0 in n else len(n) // 2
    guide = [ms_req[k] * (x / n[k]) ** 2 for x in n]
    b = Panel(W, "Wall time per request", "validators n", "ms per request", n, ms_lo + ms_hi + guide, True, True, ticks)
    b.line(n, guide, ORANGE, "5,3")
    b.line(n, ms_req, BLUE)
    b.points(n, ms_req, BLUE, ms_lo, ms_hi)
    b.legend([("median (min–max)", BLUE, None), ("∝ n²", ORANGE, "5,3")])
    cpanel = Panel(2 * W, "Wall time per event", "validators n", "µs per event", n, us_lo + us_hi, True, False, ticks)
    cpanel.line(n, us_ev, BLUE)
    cpanel.points(n, us_ev, BLUE, us_lo, us_hi)
    write_svg(path, [a, b, cpanel], "PBFT reference model, rate 100/s, one thread; scripts/measure-scaling.sh")


def load_chart(rows, path):
    c = columns(rows)
    rate = c["point"]
    ev_req = [e / q for e, q in zip(c["events"], c["requests"])]
    msg_req = [m / q for m, q in zip(c["messages"], c["requests"])]
    us_ev = [1e6 * w / e for w, e in zip(c["wall_s_median"], c["events"])]
    us_lo = [1e6 * w / e for w, e in zip(c["wall_s_min"], c["events"])]
    us_hi = [1e6 * w / e for w, e in zip(c["wall_s_max"], c["events"])]
    a = Panel(0, "Events and messages per request", "offered load (requests/s)", "per request", rate, ev_req + msg_req, False, False)
    a.line(rate, msg_req, ORANGE, "5,3")
    a.line(rate, ev_req, BLUE)
    a.points(rate, ev_req, BLUE)
    a.legend([("events", BLUE, None), ("messages", ORANGE, "5,3")])
    wall_fit = sum(w * r for w, r in zip(c["wall_s_median"], rate)) / sum(r * r for r in rate)
    b = Panel(W, "Wall time", "offered load (requests/s)", "seconds", rate, c["wall_s_max"], False, False)
    b.line([0.0] + rate, [0.0] + [wall_fit * r for r in rate], ORANGE, "5,3")
    b.points(rate, c["wall_s_median"], BLUE, c["wall_s_min"], c["wall_s_max"])
    b.legend([("median (min–max)", BLUE, None), ("linear fit", ORANGE, "5,3")])
    cpanel = Panel(2 * W, "Wall time per event", "offered load (requests/s)", "µs per event", rate, us_lo + us_hi, False, False)
    cpanel.line(rate, us_ev, BLUE)
    cpanel.points(rate, us_ev, BLUE, us_lo, us_hi)
    write_svg(path, [a, b, cpanel], "PBFT reference model, n = 16, 5 simulated seconds of arrivals, one thread; scripts/measure-scaling.sh")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    dst.mkdir(parents=True, exist_ok=True)
    validators_chart(read(src / "validators.csv"), dst / "scaling-validators.svg")
    load_chart(read(src / "load.csv"), dst / "scaling-load.svg")


if __name__ == "__main__":
    main()
