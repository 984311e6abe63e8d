"""Aggregation of repetitions into report.json, report.md and report.svg.

Per (peer, N, figure): each repetition gives p50/p95/p99 of its samples (one sample per repetition for start-up and
commissioning); the report shows the median over repetitions and the range (min–max) over repetitions. Ratios are
hubbridge / reference of those medians, for each reference peer that ran (matter.js and Matterbridge; < 1 means
hubbridge is smaller or faster).
"""

from __future__ import annotations

import json
import os
import statistics

from .svg import small_multiples

# figure key -> (title, unit, scale from seconds/kB)
LATENCY = {
    "commission_s": ("Commissioning", "s", 1.0),
    "startup_s": ("Start-up to pairing code", "ms", 1e3),
    "invoke_s": ("Invoke round trip (OnOff.Toggle)", "ms", 1e3),
    "report_s": ("Local change → subscription report", "ms", 1e3),
    "structure_read_s": ("Structure read (all Descriptors)", "ms", 1e3),
    "wildcard_read_s": ("Full wildcard read", "ms", 1e3),
}
PROC = {
    "rss_idle_mb": ("RSS idle (commissioned, settled)", "MB"),
    "rss_after_mb": ("RSS after the run", "MB"),
    "hwm_mb": ("Peak RSS (VmHWM)", "MB"),
    "cpu_s": ("CPU seconds, whole repetition", "s"),
}
# Every peer the report knows, in column order; hubbridge first, then the references its ratios are taken to.
ORDER = ("hubbridge", "matterjs", "matterbridge")
REFERENCES = ("matterjs", "matterbridge")
LABELS = {"hubbridge": "hubbridge", "matterjs": "matter.js", "matterbridge": "Matterbridge"}
PENDING_CLOUD = "not measured in this run (cloud step skipped or failed)"


def pct(xs: list[float], p: float) -> float:
    """Percentile with linear interpolation (p in 0..100)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def _summary(per_rep: list[float]) -> dict | None:
    if not per_rep:
        return None
    return dict(median=statistics.median(per_rep), min=min(per_rep), max=max(per_rep), reps=len(per_rep))


def aggregate(results: list[dict]) -> dict:
    """-> {peer: {N: {figure: {p50|p95|p99|value: summary}, ...}}}"""
    out: dict = {}
    for r in results:
        if r.get("error"):
            continue
        fig = out.setdefault(r["peer"], {}).setdefault(str(r["count"]), {"_reps": []})
        fig["_reps"].append(r)
    for peer, by_n in out.items():
        for n, d in by_n.items():
            reps = d.pop("_reps")
            for key, (_title, _unit, scale) in LATENCY.items():
                runs = [[x * scale for x in r["samples"].get(key, [])] for r in reps]
                runs = [x for x in runs if x]
                if not runs:
                    continue
                d[key] = dict(
                    p50=_summary([pct(x, 50) for x in runs]),
                    p95=_summary([pct(x, 95) for x in runs]),
                    p99=_summary([pct(x, 99) for x in runs]),
                    samples_per_rep=[len(x) for x in runs],
                    unit=_unit,
                )
            procs = {
                "rss_idle_mb": [r["proc"]["idle"]["rss_kb"] / 1024 for r in reps if "idle" in r["proc"]],
                "rss_after_mb": [r["proc"]["after"]["rss_kb"] / 1024 for r in reps if "after" in r["proc"]],
                "hwm_mb": [r["proc"]["after"]["hwm_kb"] / 1024 for r in reps if "after" in r["proc"]],
                "cpu_s": [r["proc"]["after"]["cpu_s"] for r in reps if "after" in r["proc"]],
            }
            for key, vals in procs.items():
                if vals:
                    d[key] = dict(value=_summary(vals), unit=PROC[key][1])
            for key in ("invoke_s", "report_s", "structure_read_s", "wildcard_read_s"):
                for who in ("peer", "controller"):
                    k = key.replace("_s", f"_{who}_cpu_ms")
                    vals = [r["info"][k] for r in reps if k in r["info"]]
                    if vals:
                        d[k] = dict(value=_summary(vals), unit="ms")
            attrs = [r["info"].get("wildcard_read_attributes") for r in reps]
            d["wildcard_read_attributes"] = max((a for a in attrs if a), default=None)
    return out


def _get(agg: dict, peer: str, n: str, key: str, stat: str) -> dict | None:
    return agg.get(peer, {}).get(n, {}).get(key, {}).get(stat)


def _ratio(agg: dict, n: str, key: str, stat: str, ref: str = "matterjs") -> float | None:
    a, b = _get(agg, "hubbridge", n, key, stat), _get(agg, ref, n, key, stat)
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def peers_of(report: dict) -> list[str]:
    """The peers of a report, in column order: those the run asked for (meta.peers), else those with figures."""
    asked = report.get("meta", {}).get("peers")
    have = set(asked) if asked else set(report.get("aggregate", {})) | {"hubbridge"}
    return [p for p in ORDER if p in have] + sorted(p for p in have if p not in ORDER)


def _also_mb(agg: dict, n: str, key: str, stat: str) -> str:
    r = _ratio(agg, n, key, stat, "matterbridge")
    return "" if r is None else f" (Matterbridge: {r:.3f}×)"


def targets(agg: dict, counts: list[int], cloud: dict | None = None) -> list[dict]:
    """The issue's targets, stated against matter.js; the ratio to Matterbridge is added where it was measured."""
    ns = [str(n) for n in counts]
    t = []

    def add(name, goal, measured, met, note=""):
        t.append(dict(target=name, goal=goal, measured=measured, met=met, note=note))

    r = _ratio(agg, "100", "rss_idle_mb", "value")
    ra = _ratio(agg, "100", "rss_after_mb", "value")
    add("RSS with 100 devices", "≤ 0.10× matter.js",
        None if r is None else (f"{r:.3f}× idle, {ra:.3f}× after the run" if ra is not None else f"{r:.3f}×")
        + _also_mb(agg, "100", "rss_idle_mb", "value").replace(")", " idle)"),
        None if r is None else (r <= 0.10 and (ra is None or ra <= 0.10)))
    for key, name in (("invoke_s", "Invoke p50"), ("structure_read_s", "Structure read p50")):
        rs = {n: _ratio(agg, n, key, "p50") for n in ns}
        have = {n: v for n, v in rs.items() if v is not None}
        add(name, "≤ 0.5× matter.js (every N)",
            ", ".join(f"N={n}: {v:.2f}×{_also_mb(agg, n, key, 'p50')}" for n, v in have.items()) or None,
            (all(v <= 0.5 for v in have.values()) if have else None))
    lat = {n: _get(agg, "hubbridge", n, "report_s", "p50") for n in ns}
    have = {n: v["median"] for n, v in lat.items() if v}
    add("Report latency p50", "≤ 10 ms (every N)",
        ", ".join(f"N={n}: {v:.2f} ms" for n, v in have.items()) or None,
        (all(v <= 10 for v in have.values()) if have else None))
    w = _get(agg, "hubbridge", "500", "wildcard_read_s", "p50")
    wc = _get(agg, "hubbridge", "500", "wildcard_read_peer_cpu_ms", "value")
    wctl = _get(agg, "hubbridge", "500", "wildcard_read_controller_cpu_ms", "value")
    add("Full wildcard read, 500 devices", "< 1 s",
        None if not w else (f"{w['median'] / 1e3:.3f} s (p50; range {w['min'] / 1e3:.3f}–{w['max'] / 1e3:.3f})"
                            + (f"; of which hubbridge CPU {wc['median']:.0f} ms, controller CPU {wctl['median']:.0f} ms"
                               if wc and wctl else "")),
        None if not w else w["median"] < 1000)
    m = (cloud or {}).get("mqtt")
    if m:
        add("State changes/s to mosquitto", "≥ 20 000/s", f"{m['state_changes_per_s']:,.0f}/s",
            m["state_changes_per_s"] >= 20_000)
        add(f"{m['events'] // 1000}k queued events drained", "≤ 10 s, none lost",
            f"{m['drain_s']:.2f} s, {m['lost']} lost ({m['received_distinct']} distinct ids received)",
            m["drain_s"] <= 10 and m["lost"] == 0 and m["events"] >= 100_000)
    else:
        add("State changes/s to mosquitto", "≥ 20 000/s", None, None, PENDING_CLOUD)
        add("100k queued events drained", "≤ 10 s, none lost", None, None, PENDING_CLOUD)
    return t


def render_cloud(cloud: dict) -> list[str]:
    L = ["## Cloud side (hubbridge only)", ""]
    m, st = cloud.get("mqtt"), cloud.get("startup")
    if not m:
        return L + [f"**{PENDING_CLOUD}**" + (f": {cloud['error']}" if cloud.get("error") else "."), ""]
    mb = lambda v: f"{v:.1f} MiB"  # noqa: E731
    L += [f"`hubbridge-bench-mqtt` (`bench/mqtt-report.md`): mosquitto {m['mosquitto']} on the loopback of the run's "
          f"own namespace, QoS 1, MQTT 3.1.1, durable outbox (redb, fsync per commit) on, {m['devices']} dimmable "
          "lights; registry, connector host, outbox and MQTT connector in one process (no Matter). The outage is a "
          "cut link (an in-process TCP relay switched off); a subscriber connected to mosquitto throughout counts "
          "the event ids that arrive.", "",
          "| figure | value |", "|---|---|",
          f"| Sustained state changes/s delivered to mosquitto (each change PUBACKed; durable outbox on) | "
          f"{m['state_changes_per_s']:,.0f}/s |",
          f"| Flood: changes applied / state records delivered (latest state per device kept) | "
          f"{m['flood_applied_per_s']:,.0f}/s / {m['flood_delivered_per_s']:,.0f}/s |",
          f"| Events queued during the outage (committed to disk) | {m['events']:,} at {m['queue_events_per_s']:,.0f}/s; "
          f"outbox file {mb(m['outbox_file_mib'])} |",
          f"| Time to drain {m['events']:,} queued events after the link came back | {m['drain_s']:.2f} s "
          f"({m['drain_events_per_s']:,.0f}/s) |",
          f"| Events lost / duplicated (subscriber's count of distinct ids) | {m['lost']} / {m['duplicates']} |",
          f"| RSS before the drain / peak during the drain | {mb(m['rss_before_drain_mib'])} / "
          f"{mb(m['rss_peak_drain_mib'])} |",
          f"| RSS after the sustained phase | {mb(m['rss_sustained_mib'])} |"]
    if st:
        n = cloud.get("startup_devices")
        f = lambda k: f"{st[k]['median'] * 1e3:.0f} ms [{st[k]['min'] * 1e3:.0f}–{st[k]['max'] * 1e3:.0f}]"  # noqa: E731
        L += [f"| Start-up, `hubbridge run` with {n} lights and an MQTT connector (TLS, client certificate, "
              f"password): exec → pairing code | {f('ready_s')} |",
              f"| exec → connector connected (the two start in parallel) | {f('connected_s')} |",
              f"| exec → every device's state received by a subscriber of mosquitto | {f('synced_s')} |",
              "", f"Start-up: median [min–max] of {len(st['ready_s']['samples'])} starts, fresh storage each."]
    return L + [""]


def _cell(s: dict | None, unit: str) -> str:
    if not s:
        return "–"
    f = (lambda v: f"{v:.3g}") if unit not in ("MB",) else (lambda v: f"{v:.1f}")
    if s["reps"] == 1 or s["min"] == s["max"]:
        return f"{f(s['median'])}"
    return f"{f(s['median'])} [{f(s['min'])}–{f(s['max'])}]"


def render_md(report: dict) -> str:
    meta, agg, counts = report["meta"], report["aggregate"], report["meta"]["counts"]
    peers = peers_of(report)
    refs = [p for p in peers if p in REFERENCES] if "hubbridge" in peers else []  # ratios need hubbridge
    who = (f"hubbridge vs {' and '.join(LABELS[p] for p in refs)}" if refs
           else ", ".join(LABELS.get(p, p) for p in peers))
    L = [f"# {who}: Matter-side benchmarks", "",
         f"**{meta['label']}** — {meta['started']} → {meta['finished']} (UTC), generated by `cargo xtask bench "
         f"{' '.join(meta['argv'])}`.".replace("bench ` ", "bench`").rstrip(), ""]
    if meta.get("partial"):
        L += [f"> **Partial run**: {meta['partial']}", ""]
    L += ["| | |", "|---|---|",
          f"| hubbridge | {meta['hubbridge']} |",
          *([f"| peer | matter.js bridge `bench/matterjs/bridge.mjs`, {meta['matterjs']}, node {meta['node']} |"]
            if "matterjs" in peers else []),
          *([f"| peer | Matterbridge, {meta.get('matterbridge', 'matterbridge')}, node {meta['node']} |"]
            if "matterbridge" in peers else []),
          f"| controller | connectedhomeip Python controller {meta['chip']} (same for every peer) |",
          f"| machine | {meta['machine']} |",
          f"| git | {meta['git']} |",
          f"| parameters | N = {', '.join(map(str, counts))}; {meta['reps']} repetitions per peer and N "
          f"(alternating peers, fresh namespaces/storage/controller each); up to {meta['iterations']} iterations "
          f"per latency figure and {meta['read_iterations']} per read figure, {meta['figure_budget_s']:.0f} s cap "
          f"per figure (after {meta['warmup']} warm-up iterations) |",
          "", "Cells: median over repetitions [min–max over repetitions]; each repetition's value is the p50/p95/p99 "
          "of its own samples. "
          + " ".join(f"Ratio {'÷ ' + LABELS[r]} = hubbridge / {LABELS[r]}." for r in refs)
          + " Below 1 is better for hubbridge.", ""]
    L += ["## Targets", "", "| target | goal | measured | met? |", "|---|---|---|---|"]
    for t in report["targets"]:
        met = "pending" if t["note"] == PENDING_CLOUD else ("–" if t["met"] is None else ("**yes**" if t["met"] else "**no**"))
        L.append(f"| {t['target']} | {t['goal']} | {t['measured'] or t['note'] or 'not measured'} | {met} |")
    L += ["", "![benchmark plots](report.svg)", ""]
    for n in map(str, counts):
        head = [LABELS.get(p, p) for p in peers] + [f"ratio ÷ {LABELS[r]}" for r in refs]
        L += [f"## N = {n} bridged on/off lights", ""]
        if meta.get("nodes", 1) > 1:
            k = meta["nodes"]
            L += [f"Served by **{k} Matter nodes of one process** (light i on node i mod {k}); the controller "
                  f"paired with the main node, which serves {len(range(0, int(n), k))} of them: every Matter figure "
                  f"is that node's, with the other {k - 1} nodes and their {int(n) - len(range(0, int(n), k))} "
                  "lights in the same process. RSS and CPU are the whole process's.", ""]
        L += [f"| figure | stat | {' | '.join(head)} |", "|---|---|" + "---|" * len(head)]

        def row(title, label, key, stat, unit):
            cells = [_cell(_get(agg, p, n, key, stat), unit) for p in peers]
            ratios = [_ratio(agg, n, key, stat, r) for r in refs]
            cells += ["–" if r is None else f"{r:.3f}" for r in ratios]
            L.append(f"| {title} | {label + ' ' if label else ''}| {' | '.join(cells)} |")

        for key, (title, unit, _s) in LATENCY.items():
            stats = ("p50",) if key in ("commission_s", "startup_s") else ("p50", "p95", "p99")
            for st in stats:
                label = "value" if st == "p50" and key in ("commission_s", "startup_s") else st
                row(f"{title} ({unit})", label, key, st, unit)
        for key, (title, unit) in PROC.items():
            row(f"{title} ({unit})", "", key, "value", unit)
        for key in ("invoke_s", "report_s", "structure_read_s", "wildcard_read_s"):
            title = LATENCY[key][0]
            for who, label in (("peer", "bridge process"), ("controller", "controller process")):
                row(f"{title}: CPU of the {label} per operation (ms)", "", key.replace("_s", f"_{who}_cpu_ms"),
                    "value", "ms")
        attrs = [f"{LABELS.get(p, p)} {agg.get(p, {}).get(n, {}).get('wildcard_read_attributes')}" for p in peers]
        L += ["", f"Attributes in one wildcard read: {', '.join(attrs)}.", ""]
        its = []
        for p, label in ((p, LABELS.get(p, p)) for p in peers):
            parts = [f"{LATENCY[k][0].split(' (')[0].lower()} {'/'.join(map(str, agg.get(p, {}).get(n, {}).get(k, {}).get('samples_per_rep', [])))}"
                     for k in ("invoke_s", "report_s", "structure_read_s", "wildcard_read_s")]
            its.append(f"{label}: " + "; ".join(parts))
        L += ["Measured iterations per repetition — " + " | ".join(its) + ".", ""]
    L += render_cloud(report.get("cloud") or {})
    if report.get("notes"):
        L += ["", "## Notes", ""] + [f"- {x}" for x in report["notes"]]
    if report.get("failures"):
        L += ["", "## Failed repetitions", ""] + [f"- {f['peer']} N={f['count']} rep {f['rep']}: {f['error']}"
                                                  for f in report["failures"]]
    return "\n".join(L) + "\n"


def render_svg(report: dict) -> str:
    agg, counts = report["aggregate"], report["meta"]["counts"]
    panels = []
    for key, stat, log in (("commission_s", "p50", False), ("invoke_s", "p50", True), ("report_s", "p50", True),
                           ("structure_read_s", "p50", True), ("wildcard_read_s", "p50", True),
                           ("rss_idle_mb", "value", True)):
        title, unit = (LATENCY[key][0], LATENCY[key][1]) if key in LATENCY else PROC[key]
        values = {}
        for peer in peers_of(report):
            for n in counts:
                s = _get(agg, peer, str(n), key, stat)
                if s:
                    values[(peer, n)] = (s["median"], s["min"], s["max"])
        panels.append(dict(title=f"{title}{' p50' if stat == 'p50' and key != 'commission_s' else ''}",
                           unit=unit, groups=counts, values=values, log=log))
    peers = peers_of(report)
    refs = " and ".join(LABELS[p] for p in peers if p in REFERENCES) or "nothing"
    return small_multiples(f"hubbridge vs {refs} — {report['meta']['label']}", panels, peers)


def write(report: dict, out_dir: str) -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, text in (("report.json", json.dumps(report, indent=1, sort_keys=True) + "\n"),
                       ("report.md", render_md(report)), ("report.svg", render_svg(report))):
        p = os.path.join(out_dir, name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.replace(p + ".tmp", p)
        paths.append(p)
    return paths
