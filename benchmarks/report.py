"""Summaries and tables (plain text for the terminal, Markdown for BENCHMARKS.md).

A "run" is the dict that ``run.py`` collects: per flavour and case, one best-of value per
round for side A (ours, or upstream in a self-check) and side B (upstream). The figure that
counts is the ratio of the medians across rounds, A/B; the spread of the per-round ratios is
shown next to it so a reader can tell a real difference from noise.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass

from cases import CASES_BY_NAME


@dataclass
class Row:
    name: str
    a: float | None  # median ns/op of side A
    b: float | None
    ratio: float | None  # a / b
    low: float | None  # smallest and largest per-round ratio
    high: float | None
    error: str = ""


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(pair: dict, name: str = "") -> Row:
    """Row for one case (or metric) from ``{"A": [...], "B": [...], "errors": {...}}``."""
    a, b = _median(pair.get("A", [])), _median(pair.get("B", []))
    ratio = a / b if a is not None and b else None
    rounds = [x / y for x, y in zip(pair.get("A", []), pair.get("B", [])) if x and y]
    errors = pair.get("errors", {})
    error = "; ".join(f"{side}: {msg}" for side, msg in sorted(errors.items()))
    low, high = (min(rounds), max(rounds)) if rounds else (None, None)
    return Row(name, a, b, ratio, low, high, error)


def geomean(ratios) -> float | None:
    ratios = [r for r in ratios if r]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def noise_band(rows) -> tuple[float, float] | None:
    """Largest and 90th-percentile deviation of case ratios from 1 (upstream vs upstream).

    Deviations are symmetric in log space (0.8 counts like 1.25), so the band means the same
    for "faster" and "slower".
    """
    deviations = sorted(max(r.ratio, 1 / r.ratio) - 1 for r in rows if r.ratio)
    if not deviations:
        return None
    return deviations[-1], deviations[min(len(deviations) - 1, int(0.9 * len(deviations)))]


def case_rows(flavour_data: dict) -> list[Row]:
    return [summarize(pair, name) for name, pair in flavour_data["cases"].items()]


def metric_rows(flavour_data: dict) -> list[Row]:
    rows = []
    if flavour_data.get("import_ns"):
        pair = flavour_data["import_ns"]
        rows.append(summarize({side: [v / 1e6 for v in pair.get(side, [])] for side in "AB"}))
        rows[-1].name = "import time (ms)"
    if flavour_data.get("memory_bytes"):
        pair = flavour_data["memory_bytes"]
        rows.append(summarize({side: [v / 1024 for v in pair.get(side, [])] for side in "AB"}))
        rows[-1].name = "memory per idle runtime (KiB, RSS)"
    return rows


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _range(row: Row) -> str:
    return "-" if row.low is None else f"{row.low:.2f}-{row.high:.2f}"


def _flag(row: Row, band: float | None) -> str:
    if row.error:
        return "ERROR " + row.error
    if band is not None and row.ratio and row.ratio > 1 + band:
        return "slower"
    return ""


def _table(header, rows, markdown: bool, align: str) -> list[str]:
    """A table; ``align`` has one letter per column, ``l`` or ``r``."""
    if markdown:
        rule = {"l": "---", "r": "--:"}
        lines = ["| " + " | ".join(header) + " |"]
        lines.append("|" + "|".join(rule[a] for a in align) + "|")
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return lines
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    pad = {"l": str.ljust, "r": str.rjust}
    return [
        "  ".join(pad[a](c, w) for c, w, a in zip(r, widths, align)).rstrip()
        for r in [header, *rows]
    ]


def flavour_section(
    flavour: str, data: dict, labels, band: float | None, markdown: bool
) -> list[str]:
    """Tables for one flavour: cases with geometric mean, then import time and memory."""
    a_label, b_label = labels
    impls = {
        label: (data.get("meta", {}).get(side) or {}).get("lua_implementation", "?")
        for side, label in zip("AB", labels)
    }
    if len(set(impls.values())) == 1:
        title = f"{flavour} ({impls[b_label]})"
    else:  # e.g. different LuaJIT snapshots: worth knowing when reading the ratios
        title = f"{flavour} ({', '.join(f'{k}: {v}' for k, v in impls.items())})"
    lines = [f"#### {title}" if markdown else f"== {title} ==", ""]
    rows = case_rows(data)
    header = ["case", f"{a_label} ns/op", f"{b_label} ns/op", "ratio", "round ratios", "note"]
    cells = [
        [r.name, _num(r.a), _num(r.b), _ratio(r.ratio), _range(r), _flag(r, band)] for r in rows
    ]
    mean = geomean(r.ratio for r in rows)
    bold = "**{}**" if markdown else "{}"
    cells.append([bold.format("geometric mean"), "", "", bold.format(_ratio(mean)), "", ""])
    lines += _table(header, cells, markdown, "lrrrll")
    metrics = metric_rows(data)
    if metrics:
        lines.append("")
        header = ["metric", a_label, b_label, "ratio", "round ratios", "note"]
        cells = [
            [r.name, _num(r.a), _num(r.b), _ratio(r.ratio), _range(r), _flag(r, band)]
            for r in metrics
        ]
        lines += _table(header, cells, markdown, "lrrrll")
    lines.append("")
    return lines


def verdict(run: dict, band: float | None) -> list[str]:
    """The issue's targets, checked per flavour (compare mode) or the band (self-check)."""
    lines = []
    for flavour, data in run["flavours"].items():
        rows = case_rows(data)
        mean = geomean(r.ratio for r in rows)
        if run["mode"] == "self-check":
            found = noise_band(rows)
            text = "-" if found is None else f"±{found[0] * 100:.0f}% (90% of cases within "
            text += "" if found is None else f"±{found[1] * 100:.0f}%)"
            lines.append(
                f"{flavour}: noise band, largest deviation of a case ratio from 1: {text}; "
                f"geometric mean {_ratio(mean)}"
            )
            continue
        slower = [r.name for r in rows if _flag(r, band) == "slower"]
        failed = [r.name for r in rows if r.error]
        metrics = {r.name: r for r in metric_rows(data)}
        worse = [name for name, r in metrics.items() if r.ratio and r.ratio > 1 + (band or 0)]
        ok = mean is not None and mean <= 0.70 and not slower and not worse and not failed
        lines.append(
            f"{flavour}: geometric mean {_ratio(mean)} (target <= 0.70); "
            f"slower beyond ±{(band or 0) * 100:.0f}% ({len(slower)}/{len(rows)}): "
            f"{', '.join(slower) or 'none'}; "
            f"import/memory worse: {', '.join(worse) or 'none'}; "
            f"errors: {', '.join(failed) or 'none'} => {'PASS' if ok else 'FAIL'}"
        )
    return lines


def render(run: dict, band: float | None, markdown: bool) -> str:
    """The whole results section: settings, machine, per-flavour tables, verdict."""
    cfg = run["config"]
    if run["mode"] == "self-check":
        band = None  # both sides are upstream: nothing is "slower"
    lines = []
    if markdown:
        title = "Noise band: upstream vs upstream" if run["mode"] == "self-check" else "Results"
        lines += [f"### {title}", ""]
    lines.append(f"Command: `{cfg['command']}`  ")
    lines.append(
        f"Date: {cfg['date']}; rounds: {cfg['rounds']}; sample time: {cfg['sample_time']} s; "
        f"samples per process: {cfg['samples']}; side A: {cfg['labels'][0]}, side B: "
        f"{cfg['labels'][1]}; ratio = A / B (lower is better for A)."
    )
    lines.append("")
    lines += [f"- {key}: {value}" for key, value in run["machine"].items()]
    for side, label in zip("AB", cfg["labels"]):
        metas = {f: d.get("meta", {}).get(side) for f, d in run["flavours"].items()}
        meta = next((m for m in metas.values() if m), None)
        if meta:
            lines.append(f"- {label}: lupa {meta['lupa_version']} from {meta['lupa_file']}")
    if cfg.get("note"):
        lines.append(f"- note: {cfg['note']}")
    lines.append("")
    for flavour, data in run["flavours"].items():
        lines += flavour_section(flavour, data, cfg["labels"], band, markdown)
    lines += [("- " if markdown else "") + line for line in verdict(run, band)]
    return "\n".join(lines) + "\n"


def case_list(markdown: bool) -> str:
    """What each case measures (ops = operations per timed statement)."""
    header = ["case", "what one op is", "ops per timed statement"]
    rows = [[c.name, c.doc, str(c.ops)] for c in CASES_BY_NAME.values()]
    return "\n".join(_table(header, rows, markdown, "llr")) + "\n"


def _markers(mode: str):
    return f"<!-- BEGIN bench:{mode} -->", f"<!-- END bench:{mode} -->"


def write_markdown(path, mode: str, section: str) -> None:
    """Replace the marked section for ``mode`` in ``path``; append it if there is none."""
    begin, end = _markers(mode)
    block = f"{begin}\n{section.rstrip()}\n{end}\n"
    try:
        with open(path, encoding="utf-8") as existing:
            text = existing.read()
    except FileNotFoundError:
        text = ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + block
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
