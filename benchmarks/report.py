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
from dataclasses import dataclass, field
from pathlib import Path

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
    for key, name, unit in (
        ("import_ns", "import time (ms)", 1e6),
        ("memory_bytes", "memory per idle runtime (KiB, RSS)", 1024),
    ):
        pair = flavour_data.get(key)
        if pair:
            scaled = {side: [_scale(v, unit) for v in pair.get(side, [])] for side in "AB"}
            rows.append(summarize(scaled, name))
    return rows


def _scale(value, unit):
    return None if value is None else value / unit


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _ratio(value) -> str:
    return "-" if value is None else f"{value:.2f}"


@dataclass
class Bands:
    """How far above 1 a ratio must be to count as "slower" (and import/memory as "worse").

    Without a self-check, one ``default`` band for everything. From a self-check, each case
    gets its own: the larger of the 90th-percentile deviation over all cases of that flavour
    and the case's own deviation, because a few cases (1 MB strings, which page-fault) are
    much noisier than the rest and a single band would be too strict for them or too lax for
    all others.
    """

    default: float
    per_case: dict = field(default_factory=dict)  # (flavour, row name) -> band
    source: str = ""

    def get(self, flavour: str, name: str) -> float:
        return self.per_case.get((flavour, name), self.default)

    def describe(self) -> str:
        if self.source:
            return f"its noise band from {self.source}"
        return f"±{self.default * 100:.0f}%"

    @classmethod
    def from_self_check(cls, run: dict, default: float, source: str) -> Bands:
        per_case = {}
        for flavour, data in run["flavours"].items():
            found = noise_band(case_rows(data))
            floor = found[1] if found else default
            for row in case_rows(data) + metric_rows(data):
                own = max(row.ratio, 1 / row.ratio) - 1 if row.ratio else 0.0
                per_case[(flavour, row.name)] = max(floor, own)
        return cls(default, per_case, source)


def _range(row: Row) -> str:
    return "-" if row.low is None else f"{row.low:.2f}-{row.high:.2f}"


def _beyond(row: Row, band: float | None) -> bool:
    return band is not None and row.ratio is not None and row.ratio > 1 + band


def _flag(row: Row, band: float | None) -> str:
    if row.error:
        return "ERROR " + row.error
    if _beyond(row, band):
        return f"slower (band ±{band * 100:.0f}%)"
    return ""


def format_table(header, rows, markdown: bool, align: str) -> list[str]:
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
    flavour: str, data: dict, labels, bands: Bands | None, markdown: bool
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

    def cells(rows):
        return [
            [r.name, _num(r.a), _num(r.b), _ratio(r.ratio), _range(r), _flag(r, band(r))]
            for r in rows
        ]

    def band(row):
        return bands.get(flavour, row.name) if bands else None

    rows = case_rows(data)
    header = ["case", f"{a_label} ns/op", f"{b_label} ns/op", "ratio", "round ratios", "note"]
    table = cells(rows)
    mean = geomean(r.ratio for r in rows)
    bold = "**{}**" if markdown else "{}"
    table.append([bold.format("geometric mean"), "", "", bold.format(_ratio(mean)), "", ""])
    lines += format_table(header, table, markdown, "lrrrll")
    metrics = metric_rows(data)
    if metrics:
        lines.append("")
        header = ["metric", a_label, b_label, "ratio", "round ratios", "note"]
        lines += format_table(header, cells(metrics), markdown, "lrrrll")
    lines.append("")
    return lines


def verdict(run: dict, bands: Bands) -> list[str]:
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

        slower = [r.name for r in rows if _beyond(r, bands.get(flavour, r.name))]
        failed = [r.name for r in rows if r.error]
        worse = [r.name for r in metric_rows(data) if _beyond(r, bands.get(flavour, r.name))]
        ok = mean is not None and mean <= 0.70 and not slower and not worse and not failed
        lines.append(
            f"{flavour}: geometric mean {_ratio(mean)} (target <= 0.70); "
            f"slower beyond {bands.describe()} ({len(slower)}/{len(rows)}): "
            f"{', '.join(slower) or 'none'}; "
            f"import/memory worse: {', '.join(worse) or 'none'}; "
            f"errors: {', '.join(failed) or 'none'} => {'PASS' if ok else 'FAIL'}"
        )
    return lines


def render(run: dict, bands: Bands, markdown: bool) -> str:
    """The whole results section: settings, machine, per-flavour tables, verdict."""
    cfg = run["config"]
    shown = None if run["mode"] == "self-check" else bands  # upstream vs upstream: no flags
    lines = []
    if markdown:
        lines += [f"### {' vs '.join(cfg['labels'])}, {cfg['date']}", ""]
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
            where = _short_path(meta["lupa_file"])
            lines.append(f"- {label}: lupa {meta['lupa_version']} from {where}")
    if cfg.get("note"):
        lines.append(f"- note: {cfg['note']}")
    lines.append("")
    for flavour, data in run["flavours"].items():
        lines += flavour_section(flavour, data, cfg["labels"], shown, markdown)
    lines += [("- " if markdown else "") + line for line in verdict(run, bands)]
    return "\n".join(lines) + "\n"


def _short_path(path: str) -> str:
    """Paths inside the repository relative to it: the same on every checkout."""
    repo = Path(__file__).resolve().parent.parent
    try:
        return str(Path(path).resolve().relative_to(repo))
    except ValueError:
        return path


def case_list(markdown: bool) -> str:
    """What each case measures (ops = operations per timed statement)."""
    header = ["case", "what one op is", "ops per timed statement"]
    rows = [[c.name, c.doc, str(c.ops)] for c in CASES_BY_NAME.values()]
    return "\n".join(format_table(header, rows, markdown, "llr")) + "\n"


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
