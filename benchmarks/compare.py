"""Side-by-side comparison of isplata with the tools a user would pick instead, as one command:

    python -m benchmarks.compare [--size small|full] [--out benchmarks/results/compare.json] [--pairs ...]
    python -m benchmarks.compare --readme [benchmarks/results/compare.json]   # README table from the JSON

Pairs (benchmarks/pairs.py): the entitlement engine vs the plain-Python reference vs OpenFisca-core on the same
100,000 households x 12 months (the reference, at ~100 us per household-month, runs once on the first 10,000
households and is compared per unit of work); the pain.001 writer vs sepaxml on the same 100,000 payments (both
validated with lxml against the official XSD); the ledger append vs a row-wise psycopg COPY with a Python hash
chain on the same 1,000,000 postings (PostgreSQL from --db, ISPLATA_TEST_PG or
postgresql://postgres@127.0.0.1:5432/test, in private schemas). Each pair's sides run interleaved in one process
and medians are compared, so ratios hold on a shared machine; each side's peak memory comes from one more run in a
fresh process. The peers come from the optional extra: `pip install -e '.[bench]'` installs openfisca-core,
openfisca-country-template and sepaxml into the project's own venv (they accept the project's numpy and numba, so
no separate venv is needed); without them those sides are reported as skipped, with the reason, and isplata's sides
still run. Output: a table on stdout and a JSON file with the machine described."""
import argparse
import json
import os
import shlex
import subprocess
import sys

from benchmarks import harness, pairs
from benchmarks.machine import describe, one_line

PG_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = {
    "tiny": {"households": 300, "reference_households": 300, "payments": 300, "postings": 2_000, "reps": 1},
    "small": {"households": 5_000, "reference_households": 1_000, "payments": 5_000, "postings": 50_000,
              "reps": 3},
    "full": {"households": 100_000, "reference_households": 10_000, "payments": 100_000, "postings": 1_000_000,
             "reps": 5},
}
PAIR_KEYS = ("entitlements", "pain001", "ledger")
# The plain-Python reference needs ~100 us per household-month: one timed run on a slice of the households
# (reference_households above) gives its rate; its time relative to isplata is compared per unit of work.
REFERENCE_REPS = 1
DEFAULT_OUT = os.path.join("benchmarks", "results", "compare.json")


def build_pair(key: str, size: dict, pg_url: str) -> pairs.Pair:
    if key == "entitlements":
        return pairs.entitlements_pair(size["households"], size["reference_households"], REFERENCE_REPS)
    if key == "pain001":
        return pairs.pain001_pair(size["payments"])
    assert key == "ledger", key
    return pairs.ledger_pair(size["postings"], pg_url)


def summarise(pair: pairs.Pair, results: list[harness.SideResult], agreement: dict) -> dict:
    """Medians, throughput and the time of each side relative to isplata's for the same amount of work."""
    ours = results[0]
    ours_unit_s = ours.median_s / pair.count if ours.median_s else None
    sides = []
    for index, result in enumerate(results):
        median, count = result.median_s, result.count or pair.count
        sides.append({
            "name": result.name, "baseline": index == 0, "version": result.version, "skipped": result.skipped,
            "count": count, "median_s": median, "runs_s": [round(s, 6) for s in result.runs_s],
            "per_second": count / median if median else None,
            "peak_rss_mib": None if result.peak_rss_mib is None else round(result.peak_rss_mib, 1),
            "times_isplata": median / count / ours_unit_s if (median and ours_unit_s) else None,
        })
    return {"key": pair.key, "title": pair.title, "workload": pair.workload, "count": pair.count,
            "unit": pair.unit, "sides": sides, "agreement": agreement}


def run_pair(key: str, size: dict, pg_url: str, reps: int, log=print) -> dict:
    log(f"== {key}")
    pair = build_pair(key, size, pg_url)
    try:
        results = harness.measure(pair.sides, reps, log)
        agreement = pair.check(results)
    finally:
        pair.cleanup()
    return summarise(pair, results, agreement)


def run_comparison(size_name: str, pg_url: str, keys=PAIR_KEYS, reps: int | None = None, memory: bool = True,
                   log=print) -> dict:
    size = SIZES[size_name]
    reps = size["reps"] if reps is None else reps
    report = {"size": size_name, "reps": reps, "machine": describe(pg_url), "pairs": [],
              "peak_memory": "each side once in a fresh process" if memory else "rise within the shared process"}
    for key in keys:
        summary = run_pair(key, size, pg_url, reps, log)
        if memory:
            measure_memory(summary, size_name, pg_url, log)
        report["pairs"].append(summary)
    return report


# ---- peak memory, one side at a time in a fresh process -------------------------------------------------------
# In the shared process a side's memory rise is blurred by what earlier runs left in the allocators' pools, so
# each side also runs once in a process of its own: a tiny warm-up (imports, JIT cache), then the measured run.

def measure_memory(summary: dict, size_name: str, pg_url: str, log=print) -> None:
    for index, side in enumerate(summary["sides"]):
        if side["skipped"] or not side["runs_s"]:
            continue
        command = [sys.executable, "-m", "benchmarks.compare", "--memory-child", f"{summary['key']}:{index}",
                   "--size", size_name, "--db", pg_url]
        proc = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode == 0 and lines:
            side["peak_rss_mib"] = round(json.loads(lines[-1])["peak_rss_mib"], 1)
            log(f"    peak memory {side['name']}: {side['peak_rss_mib']:.0f} MiB")
        else:
            log(f"    peak memory {side['name']}: not measured ({(proc.stderr or '').strip()[-200:]})")


def memory_child(spec: str, size_name: str, pg_url: str) -> None:
    key, index = spec.split(":")
    for size in (SIZES["tiny"], SIZES[size_name]):  # warm-up at the tiny size, then the measured run
        pair = build_pair(key, size, pg_url)
        try:
            side = pair.sides[int(index)]
            _output, seconds, peak = harness.run_measured(side)
        finally:
            pair.cleanup()
    print(json.dumps({"peak_rss_mib": peak, "seconds": seconds}))


# ---- rendering ----------------------------------------------------------------------------------------------

def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _rate(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.0f} {unit}/s"


def _times(side: dict) -> str:
    """The side's time for the same work relative to isplata's, said in words."""
    ratio = side["times_isplata"]
    if ratio is None:
        return "-"
    if side["baseline"]:
        return "baseline"
    return f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster"


def format_table(report: dict) -> str:
    lines = [f"{'pair':<14}{'side':<46}{'median':>12}{'runs':>6}{'per second':>31}{'peak MiB':>10}"
             f"{'vs isplata':>16}"]
    for pair in report["pairs"]:
        for side in pair["sides"]:
            if side["skipped"]:
                lines.append(f"{pair['key']:<14}{side['name']:<46}  skipped: {side['skipped']}")
                continue
            peak = "-" if side["peak_rss_mib"] is None else f"{side['peak_rss_mib']:.0f}"
            lines.append(f"{pair['key']:<14}{side['name']:<46}{_seconds(side['median_s']):>12}"
                         f"{len(side['runs_s']):>6}{_rate(side['per_second'], pair['unit']):>31}{peak:>10}"
                         f"{_times(side):>16}")
        lines.append(f"{'':<14}agreement: {agreement_line(pair)}")
    lines.append(f"machine: {one_line(report['machine'])}")
    return "\n".join(lines)


def agreement_line(pair: dict) -> str:
    agreement = pair["agreement"]
    verdict = "totals agree" if agreement.get("agree") else "TOTALS DO NOT AGREE (or isplata's side missing)"
    if pair["key"] == "entitlements":
        parts = [_rule_line(code, row) for code, row in agreement.items() if isinstance(row, dict)
                 and "currency" in row]
        split = agreement.get("isplata_split_s")
        if split:
            parts.append(f"isplata's time: Arrow -> arrays {_seconds(split['convert_s'])}, kernels "
                         f"{_seconds(split['compute_s'])} (last run)")
        return f"{verdict}; " + "; ".join(parts)
    if pair["key"] == "pain001":
        expected = agreement["expected"]
        parts = [f"{name}: {'valid' if w['valid'] else 'INVALID'} vs XSD ({w['files']} file(s), "
                 f"{w['bytes'] / 2**20:.1f} MiB, lxml validation {_seconds(w['validate_s'])}), "
                 f"{w['transactions']:,} txs, {w['amount_minor'] / 100:,.2f}"
                 for name, w in agreement.items() if isinstance(w, dict) and "valid" in w]
        return (f"{verdict}; expected {expected['transactions']:,} txs, {expected['amount_minor'] / 100:,.2f}; "
                + "; ".join(parts))
    expected = agreement["expected"]
    return f"{verdict}; {expected['postings']:,} postings, sum 0, sum of |amounts| {expected['sum_abs_minor']:,}"


def _rule_line(code: str, row: dict) -> str:
    scale = 10 ** row["exponent"]
    text = code
    if "isplata_total_minor" in row:
        text += f" {row['isplata_total_minor'] / scale:,.{row['exponent']}f} {row['currency']}"
    if "reference_mismatched_cells" in row:
        text += (f", reference {row['reference_mismatched_cells']} cells differ (on "
                 f"{row['reference_households']:,} households)")
    if "openfisca_float32_total_drift_minor" in row:
        text += (f", OpenFisca float32 total off by {row['openfisca_float32_total_drift_minor'] / scale:,.2f} "
                 f"{row['currency']} ({row['openfisca_mismatched_cells']} cells differ once rounded)")
    elif "openfisca_float32_total" in row:
        text += f", OpenFisca float32 total {row['openfisca_float32_total']:,.2f} {row['currency']}"
    return text


def render_readme(report: dict) -> str:
    """The README performance table (markdown) from a comparison's JSON."""
    machine = report["machine"]
    lines = ["| work | tool | median | throughput | peak memory | same work vs isplata |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for pair in report["pairs"]:
        for index, side in enumerate(pair["sides"]):
            work = f"{pair['title']}: {pair['workload']}" if index == 0 else ""
            tool = f"{side['name']} {side['version']}".strip()
            if side["skipped"]:
                lines.append(f"| {work} | {tool} | skipped: {side['skipped']} | | | |")
                continue
            peak = "-" if side["peak_rss_mib"] is None else f"{side['peak_rss_mib']:.0f} MiB"
            lines.append(f"| {work} | {tool} | {_seconds(side['median_s'])} | "
                         f"{_rate(side['per_second'], pair['unit'])} | {peak} | {_times(side)} |")
    notes = [f"- {pair['title']}: {agreement_line(pair)}" for pair in report["pairs"]]
    header = (f"Measured {machine['measured_at']} with `{report.get('command', 'python -m benchmarks.compare')}` "
              f"(medians of {report['reps']} interleaved runs) on {one_line(machine)}.")
    return "\n".join([header, "", *lines, "", *notes]) + "\n"


# ---- command line -------------------------------------------------------------------------------------------

def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--out", default=DEFAULT_OUT, help="JSON result file (default %(default)s)")
    parser.add_argument("--pairs", default=",".join(PAIR_KEYS), help="comma-separated subset of "
                        + ", ".join(PAIR_KEYS))
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per side (default by size)")
    parser.add_argument("--db", default=os.environ.get("ISPLATA_TEST_PG", PG_URL_DEFAULT),
                        help="PostgreSQL URL for the ledger pair")
    parser.add_argument("--readme", nargs="?", const=DEFAULT_OUT, default=None, metavar="JSON",
                        help="print README's performance table from a result file and exit")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory runs in fresh processes (faster; memory then from the shared one)")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if args.memory_child:
        memory_child(args.memory_child, args.size, args.db)
        return 0
    if args.readme:
        with open(args.readme) as handle:
            sys.stdout.write(render_readme(json.load(handle)))
        return 0
    keys = [key.strip() for key in args.pairs.split(",") if key.strip()]
    unknown = sorted(set(keys) - set(PAIR_KEYS))
    if unknown:
        print(f"unknown pair(s) {unknown}; choose from {', '.join(PAIR_KEYS)}", file=sys.stderr)
        return 2
    report = run_comparison(args.size, args.db, keys, args.reps, memory=not args.no_memory)
    report["command"] = "python -m benchmarks.compare " + " ".join(shlex.quote(a) for a in
                                                                  (sys.argv[1:] if argv is None else argv))
    print(format_table(report))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1)
    print(f"written {args.out}")
    return 0 if all(pair["agreement"].get("agree") for pair in report["pairs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
