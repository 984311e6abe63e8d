"""Hand-written SVG: small multiples of grouped bar charts (one panel per figure, groups = N, bars = peers), with
the range across repetitions as whiskers. No dependencies, no fonts to fetch."""

from __future__ import annotations

import math
from html import escape

COLORS = {"hubbridge": "#1b7837", "matterjs": "#762a83", "matterbridge": "#e08214"}
LABELS = {"hubbridge": "hubbridge", "matterjs": "matter.js", "matterbridge": "Matterbridge"}


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def _fmt(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def panel(x0: float, y0: float, w: float, h: float, title: str, unit: str, groups: list, series: list[str],
          values: dict, log: bool = False) -> list[str]:
    """values[(series, group)] = (median, lo, hi) or None. Returns SVG elements."""
    out = [f'<text x="{x0 + w / 2}" y="{y0 + 14}" text-anchor="middle" font-size="13" font-weight="bold">'
           f'{escape(title)}</text>']
    left, right, top, bottom = x0 + 48, x0 + w - 8, y0 + 24, y0 + h - 30
    vals = [v for v in values.values() if v]
    vmax = max([v[2] for v in vals] + [v[0] for v in vals] + [1e-9])
    vmin_pos = min([v[0] for v in vals if v[0] > 0] + [vmax])
    if log:
        lo_e = math.floor(math.log10(max(vmin_pos, 1e-9)))
        hi_e = math.ceil(math.log10(vmax)) if vmax > 0 else lo_e + 1
        if hi_e == lo_e:
            hi_e += 1

        def ypos(v):
            v = max(v, 10 ** lo_e)
            return bottom - (math.log10(v) - lo_e) / (hi_e - lo_e) * (bottom - top)
        ticks = [10 ** e for e in range(lo_e, hi_e + 1)]
    else:
        top_v = _nice_max(vmax)

        def ypos(v):
            return bottom - v / top_v * (bottom - top)
        ticks = [top_v * i / 4 for i in range(5)]
    for t in ticks:
        y = ypos(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{_fmt(t)}</text>')
    out.append(f'<text x="{x0 + 10}" y="{(top + bottom) / 2}" font-size="10" text-anchor="middle" '
               f'transform="rotate(-90 {x0 + 10} {(top + bottom) / 2})">{escape(unit)}{" (log)" if log else ""}</text>')
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>')
    gw = (right - left) / max(len(groups), 1)
    bw = gw * 0.7 / max(len(series), 1)
    for gi, g in enumerate(groups):
        gx = left + gi * gw + gw * 0.15
        out.append(f'<text x="{left + gi * gw + gw / 2:.1f}" y="{bottom + 14}" text-anchor="middle" '
                   f'font-size="11">N={g}</text>')
        for si, s in enumerate(series):
            v = values.get((s, g))
            if not v:
                continue
            med, lo, hi = v
            x = gx + si * bw
            y = ypos(med)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw * 0.9:.1f}" height="{max(bottom - y, 0.5):.1f}" '
                       f'fill="{COLORS.get(s, "#888")}"><title>{escape(LABELS.get(s, s))} N={g}: {_fmt(med)} {escape(unit)} '
                       f'[{_fmt(lo)}–{_fmt(hi)}]</title></rect>')
            cx = x + bw * 0.45
            out.append(f'<line x1="{cx:.1f}" y1="{ypos(lo):.1f}" x2="{cx:.1f}" y2="{ypos(hi):.1f}" stroke="#000"/>')
            out.append(f'<text x="{cx:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="9">{_fmt(med)}</text>')
    return out


def small_multiples(title: str, panels: list[dict], series: list[str], cols: int = 3, pw: int = 300,
                    ph: int = 220) -> str:
    """panels: [{title, unit, groups, values, log}] -> one SVG document."""
    rows = max(1, math.ceil(len(panels) / cols))
    width, height = cols * pw, rows * ph + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#fff"/>',
           f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    lx = width - 10
    for s in reversed(series):
        out.append(f'<text x="{lx}" y="20" text-anchor="end" font-size="12">{escape(LABELS.get(s, s))}</text>')
        lx -= 8 + 7 * len(LABELS.get(s, s))
        out.append(f'<rect x="{lx - 12}" y="10" width="12" height="12" fill="{COLORS.get(s, "#888")}"/>')
        lx -= 24
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        out += panel(c * pw, 40 + r * ph, pw, ph, p["title"], p["unit"], p["groups"], series, p["values"],
                     p.get("log", False))
    out.append("</svg>")
    return "\n".join(out) + "\n"
