"""Benchmark lupa-rs against upstream lupa 2.8, interleaved, and print ns/op and ratios.

Run it with the interpreter that has lupa-rs installed (that side is ``sys.executable``):

    python benchmarks/run.py [--flavours lua54,luajit21] [--rounds N] [--quick]
                             [--cases PATTERN] [--self-check] [--markdown FILE]
    python benchmarks/run.py --ours-only --flavours lua54,luau   # no upstream side

Upstream lupa 2.8 is installed from the package index into ``bench-envs/upstream`` (made
with the same interpreter, reused on later runs). Each round runs every case once per side, in
a fresh worker process each time, alternating which side goes first (A B / B A) from case to
case and round to round, so that slow drifts of the machine (builds starting, thermal state)
hit both sides alike; the figure reported per case is the median over rounds of each
process's best sample. ``--ours-only`` runs this build alone (for flavours upstream does not
have, such as ``luau``) and prints ns/op per flavour side by side, with each flavour's ratio to
the first one.  ``--self-check`` runs upstream against
upstream: the ratios it prints are pure noise, and their spread is the band within which a
ratio of lupa-rs to upstream means nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import machine
import report
import upstream_env
from cases import select

HERE = Path(__file__).resolve().parent
DEFAULTS = {"rounds": 5, "sample_time": 0.2, "samples": 3, "import_reps": 3, "runtimes": 200}
QUICK = {"rounds": 3, "sample_time": 0.05, "samples": 2, "import_reps": 2, "runtimes": 100}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--flavours", default="lua54,luajit21", help="comma-separated")
    parser.add_argument("--rounds", type=int, help="worker pairs per flavour (default 5)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 3 short rounds (~1-2 min)"
    )
    parser.add_argument("--cases", help="comma-separated globs; plain words match substrings")
    parser.add_argument("--self-check", action="store_true", help="upstream against upstream")
    parser.add_argument(
        "--ours-only", action="store_true", help="this build alone: compare its flavours"
    )
    parser.add_argument("--markdown", metavar="FILE", help="write/replace the results section")
    parser.add_argument("--json", metavar="FILE", help="also dump the raw per-round data")
    parser.add_argument("--sample-time", type=float, help="seconds per sample (default 0.2)")
    parser.add_argument("--samples", type=int, help="samples per case and process (default 3)")
    parser.add_argument(
        "--band",
        type=float,
        default=0.10,
        help="noise band: ratios above 1+band are flagged as slower (default 0.10)",
    )
    parser.add_argument(
        "--band-from",
        metavar="JSON",
        help="per-case noise bands from a --self-check --json dump (overrides --band)",
    )
    parser.add_argument("--upstream-python", help="use this interpreter for upstream instead")
    parser.add_argument("--note", help="free text recorded with the results (e.g. build type)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument(
        "--report", metavar="JSON", help="only re-render a --json dump (with --markdown)"
    )
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else DEFAULTS)
    for key in ("rounds", "sample_time", "samples"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    return args, settings


class Side:
    """One implementation: an interpreter plus the environment to start it with."""

    def __init__(self, label: str, python: str, env: dict):
        self.label, self.python, self.env = label, python, env

    def run(self, script: str, *args: str, timeout: float = 600) -> str:
        cmd = [self.python, str(HERE / script), *args]
        done = subprocess.run(
            cmd, capture_output=True, text=True, env=self.env, timeout=timeout, cwd=HERE
        )
        if done.returncode:
            raise RuntimeError(f"{shlex.join(cmd)} failed: {_tail(done.stderr)}")
        return done.stdout


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join((text or "").strip().splitlines()[-lines:]) or "(no output)"


def _pump(stream, lines: queue.Queue) -> None:
    """Forward lines to a queue (then None), so the reader can wait with a timeout."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_worker(side: Side, flavour: str, names: list, settings: dict, case_timeout: float):
    """Run ``names`` in as few worker processes as possible; survive crashes and hangs.

    Returns ``(meta, {case: result})``. A case during which the process died or that printed
    nothing for ``case_timeout`` seconds gets an error result, and the remaining cases are
    run in a new process.
    """
    meta, results, remaining = None, {}, list(names)
    while remaining:
        cmd = [side.python, str(HERE / "worker.py"), "--flavour", flavour]
        cmd += ["--cases", ",".join(remaining), "--sample-time", str(settings["sample_time"])]
        cmd += ["--samples", str(settings["samples"])]
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=side.env, cwd=HERE
            )
            lines: queue.Queue = queue.Queue()
            threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
            problem = None
            while True:
                try:
                    line = lines.get(timeout=case_timeout)
                except queue.Empty:
                    proc.kill()
                    problem = f"no result within {case_timeout:g} s"
                    break
                if line is None:
                    break
                try:
                    record = json.loads(line)
                except ValueError:  # stray output of a case, e.g. Lua's print()
                    continue
                if "meta" in record:
                    meta = record["meta"]
                else:
                    results[record["case"]] = record
                    remaining.remove(record["case"])
            proc.wait()
            err.seek(0)
            stderr = err.read()
        if not remaining:
            break
        if meta is None:  # the flavour did not even import
            raise RuntimeError(f"{side.label}: cannot run lupa.{flavour}: {_tail(stderr)}")
        crashed = remaining.pop(0)
        problem = problem or f"worker died (exit {proc.returncode}): {_tail(stderr)}"
        results[crashed] = {"case": crashed, "error": problem}
    return meta, results


def new_flavour_data(names) -> dict:
    return {
        "meta": {},
        "cases": {name: {"A": [], "B": [], "errors": {}} for name in names},
        "import_ns": {"A": [], "B": []},
        "memory_bytes": {"A": [], "B": []},
    }


def run_round(sides: dict, flavour: str, data: dict, names, settings, order: str) -> None:
    """One round: every case once per side, then the import-time and memory probes.

    Each case runs in a process of its own: what one case leaves behind (heap layout, garbage
    that Lua still references, raised allocator thresholds) must not change the next case's
    figure, and it would differently for the two implementations. The side that goes first
    alternates from case to case as well as from round to round.
    """
    for index, name in enumerate(names):
        for key in order if index % 2 == 0 else order[::-1]:
            meta, results = run_worker(sides[key], flavour, [name], settings, case_timeout=300)
            data["meta"][key] = meta
            entry, result = data["cases"][name], results[name]
            if "error" in result:
                entry["errors"][key] = result["error"]
                entry[key].append(None)
            else:
                entry[key].append(result["ns_per_op"])
    imports: dict = {key: [] for key in order}
    for key in order * settings["import_reps"]:
        imports[key].append(probe(sides[key], "import", flavour))
    for key in order:
        best = min((ns for ns in imports[key] if ns is not None), default=None)
        data["import_ns"][key].append(best)
        memory = probe(sides[key], "memory", flavour, str(settings["runtimes"]))
        data["memory_bytes"][key].append(memory)


def probe(side: Side, *args: str) -> float | None:
    """One probes.py measurement; a failure is reported and leaves a gap, not a dead run."""
    try:
        return float(side.run("probes.py", *args, timeout=300))
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        print(f"warning: {side.label} probe {' '.join(args)}: {exc}", file=sys.stderr)
        return None


def check_sides(run: dict, self_check: bool) -> None:
    """Refuse to report if both sides silently ran the same lupa (or the wrong one)."""
    for flavour, data in run["flavours"].items():
        a, b = data["meta"].get("A"), data["meta"].get("B")
        if not a or not b:
            continue
        if not self_check and a["lupa_file"] == b["lupa_file"]:
            raise SystemExit(f"{flavour}: both sides import {a['lupa_file']}")
        if a["python"] != b["python"]:
            print(f"warning: Python {a['python']} vs {b['python']}", file=sys.stderr)


def main(argv=None) -> int:
    args, settings = parse_args(argv)
    if args.list:
        print(report.case_list(markdown=False), end="")
        return 0
    if args.report:
        publish(json.loads(Path(args.report).read_text()), args)
        return 0
    cases = select(args.cases)
    if not cases:
        raise SystemExit(f"no case matches {args.cases!r}")
    names = [case.name for case in cases]
    flavours = [f for f in args.flavours.split(",") if f]

    if args.ours_only:
        return run_ours_only(args, settings, names, flavours)
    upstream = args.upstream_python or str(upstream_env.ensure())
    up_env = upstream_env.clean_env()
    if args.self_check:
        labels = ("upstream A", "upstream B")
        sides = {"A": Side(labels[0], upstream, up_env), "B": Side(labels[1], upstream, up_env)}
    else:
        labels = ("ours", "upstream")
        sides = {
            "A": Side("ours", sys.executable, dict(os.environ)),
            "B": Side("upstream", upstream, up_env),
        }

    command = "python benchmarks/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    run = {
        "mode": "self-check" if args.self_check else "compare",
        "machine": machine.info(),
        "config": {
            "command": command.strip(),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "rounds": settings["rounds"],
            "sample_time": settings["sample_time"],
            "samples": settings["samples"],
            "labels": labels,
            "note": args.note,
        },
        "flavours": {flavour: new_flavour_data(names) for flavour in flavours},
    }
    print(
        f"{len(names)} cases x {len(flavours)} flavours x {settings['rounds']} rounds, "
        f"A={sides['A'].python}, B={sides['B'].python}",
        file=sys.stderr,
    )
    for flavour in list(flavours):  # warm-up: bytecode caches; drops unavailable flavours
        try:
            for key in "AB":
                sides[key].run("probes.py", "import", flavour)
        except RuntimeError as exc:
            print(f"skipping {flavour}: {exc}", file=sys.stderr)
            del run["flavours"][flavour]
    started = time.monotonic()
    for number in range(settings["rounds"]):
        for flavour, data in run["flavours"].items():
            order = "AB" if number % 2 == 0 else "BA"
            run_round(sides, flavour, data, names, settings, order)
            print(
                f"round {number + 1}/{settings['rounds']} {flavour} ({order}) done, "
                f"{time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
    check_sides(run, args.self_check)
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1))
    publish(run, args)
    return 0


def run_ours_only(args, settings, names, flavours) -> int:
    """``--ours-only``: every case in a fresh worker per round and flavour, this build only."""
    side = Side("ours", sys.executable, dict(os.environ))
    data = {flavour: new_flavour_data(names) for flavour in flavours}
    for number in range(settings["rounds"]):
        for flavour in flavours:
            for name in names:
                _meta, results = run_worker(side, flavour, [name], settings, case_timeout=300)
                result = results[name]
                data[flavour]["cases"][name]["A"].append(result.get("ns_per_op"))
            print(f"round {number + 1}/{settings['rounds']} {flavour} done", file=sys.stderr)

    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None

    first = flavours[0]
    header = ["case"] + [f"{f} ns/op" for f in flavours] + [f"{f}/{first}" for f in flavours[1:]]
    rows = []
    for name in names:
        figures = [median(data[f]["cases"][name]["A"]) for f in flavours]
        ratios = [
            f"{figure / figures[0]:.2f}" if figure and figures[0] else "-" for figure in figures[1:]
        ]
        rows.append([name] + [f"{x:.0f}" if x else "-" for x in figures] + ratios)
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    return 0


def publish(run: dict, args) -> None:
    """Print the text tables; write the Markdown section if asked to."""
    if args.band_from:
        self_check = json.loads(Path(args.band_from).read_text())
        source = f"the self-check of {self_check['config']['date']}"
        bands = report.Bands.from_self_check(self_check, args.band, source)
    else:
        bands = report.Bands(args.band)
    print(report.render(run, bands, markdown=False))
    if args.markdown:
        report.write_markdown(args.markdown, run["mode"], report.render(run, bands, True))
        print(f"wrote the {run['mode']} section to {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
