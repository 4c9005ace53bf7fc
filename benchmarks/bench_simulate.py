"""`isplata simulate` (payroll.simulate): the cost of a rule change over 12 months, in a warm process.

Workload: a generated Montenegrin register (isplata generate, seed 3, period 2025-01) and two new catalogues:
an indexation of the two largest benefits (child allowance +10 %, the MO table +5 %, from 2025-01: about 60 % of
the rights are computed a second time) and a 5 % rise of every amount of every benefit (every right computed
twice, the worst case). Timed: the whole simulate call, as the command runs it after its imports: both
catalogues read, the register read and validated, arrays, the engine under both catalogues for 12 months, the
sums and counts; and, in a process that has prepared today's side once (payroll.simulate.prepare), the cost of
one more catalogue (payroll.simulate.cost), the what-if loop of a reform's variants. Goals (issue 15): <= 1 s
for 100,000 rights x 12 months, <= 60 s for 10,000,000 rights.
The normal test run uses a tiny size once; the full size:

    ISPLATA_BENCH_FULL=1 .venv/bin/python -m pytest benchmarks/bench_simulate.py --benchmark-enable
    .venv/bin/python benchmarks/bench_simulate.py --rights 100000 --repeat 7     # median, CPU time, peak RSS
    .venv/bin/python benchmarks/bench_simulate.py --data DIR --repeat 3           # a register made before
    .venv/bin/python benchmarks/bench_simulate.py --data DIR10M --once             # one run at national size
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from formats.catalogue import catalogue_path
from formats.generator import generate_register
from engine.months import parse_period
from formats.catalogue import load_catalogue
from payroll.simulate import cost, prepare, simulate
if __package__:  # under pytest, benchmarks is a package
    from benchmarks.harness import peak_rss_gib, reset_peak_rss
else:  # run as a script: benchmarks/ is sys.path[0]
    from harness import peak_rss_gib, reset_peak_rss

FULL = os.environ.get("ISPLATA_BENCH_FULL") == "1"
RIGHTS = 100_000 if FULL else 500
ROUNDS = 7 if FULL else 1
PERIOD, MONTHS = "2025-01", 12
DD_LINE = 'child_amount = [ { valid_from = 2024-01-01, value = "30.00", '
MO_LINE = ('{ valid_from = 2024-07-01, value = ["89.84", "107.89", "129.52", "152.88", "170.82"], '
           'source = "rules_md", status = "reported" },')
WHAT_IF = 'status = "assumption", reason = "benchmark: what if"'


def two_benefits_rules(folder: Path) -> Path:
    """Child allowance +10 % and the MO table +5 % from 2025-01 (dated lines added, as an indexation is)."""
    text = catalogue_path("me").read_text(encoding="utf-8")
    assert text.count(DD_LINE) == 1 and text.count(MO_LINE) == 1, "the Montenegrin catalogue changed"
    dd_start = text.index(DD_LINE)
    dd_end = text.index(" ]\n", dd_start)
    text = (text[:dd_end] + f', {{ valid_from = 2025-01-01, value = "33.00", {WHAT_IF} }}' + text[dd_end:])
    text = text.replace(MO_LINE, MO_LINE + '\n  { valid_from = 2025-01-01, value = ["94.33", "113.28", "136.00", '
                                           f'"160.52", "179.36"], {WHAT_IF} }},')
    path = folder / "indexation_two.toml"
    path.write_text(text, encoding="utf-8")
    return path


def every_amount_rules(folder: Path) -> Path:
    """Every decimal amount of the catalogue +5 %, rounded half-up to the cent: every benefit changes."""
    def raised(match: re.Match) -> str:
        value = (Decimal(match.group(1)) * Decimal("1.05")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return f'"{value}"'

    text = re.sub(r'"(\d+\.\d{2})"', raised, catalogue_path("me").read_text(encoding="utf-8"))
    path = folder / "indexation_all.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_simulate")
    generate_register(folder / "reg", RIGHTS, 3, PERIOD)
    return folder / "reg", {"two_benefits": two_benefits_rules(folder), "every_amount": every_amount_rules(folder)}


@pytest.mark.parametrize("change", ["two_benefits", "every_amount"])
def test_simulate_twelve_months(benchmark, workload, change):
    register, rules = workload
    simulate(register, PERIOD, rules[change], MONTHS)  # warm: kernels loaded, files in the page cache
    result = benchmark.pedantic(simulate, args=(register, PERIOD, rules[change], MONTHS), rounds=ROUNDS,
                                iterations=1)
    totals = result["totals"]
    assert totals["new_minor"] > totals["base_minor"] > 0 and totals["gain"] > 0
    assert len(result["by_month_benefit"]) >= MONTHS


@pytest.mark.parametrize("change", ["two_benefits", "every_amount"])
def test_one_more_catalogue_against_a_prepared_baseline(benchmark, workload, change):
    register, rules = workload
    baseline = prepare(register, load_catalogue(), parse_period(PERIOD), MONTHS)
    new = load_catalogue(rules[change])
    cost(baseline, new)
    result = benchmark.pedantic(cost, args=(baseline, new), rounds=ROUNDS, iterations=1)
    assert result == simulate(register, PERIOD, rules[change], MONTHS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rights", type=int, default=100_000, help="Size of the register generated")
    parser.add_argument("--data", help="Use this register folder (generated for 2025-01) instead")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--once", action="store_true",
                        help="One simulate run, two benefits changed, no warm-up run (national sizes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        register = Path(args.data) if args.data else folder / "reg"
        if not args.data:
            started = time.perf_counter()
            generate_register(register, args.rights, 3, PERIOD)
            print(f"register of {args.rights:,} rights generated in {time.perf_counter() - started:.1f} s")
        if args.once:
            _run_once(register, two_benefits_rules(folder))
            return
        baseline = None
        for name, rules in (("two benefits", two_benefits_rules(folder)), ("every amount", every_amount_rules(folder))):
            _measure(f"simulate {MONTHS} months, {name} changed", simulate, register, PERIOD, rules, MONTHS,
                     repeat=args.repeat)
            baseline = baseline or prepare(register, load_catalogue(), parse_period(PERIOD), MONTHS)
            _measure(f"  one more catalogue against a prepared baseline, {name} changed", cost, baseline,
                     load_catalogue(rules), repeat=args.repeat)


def _run_once(register: Path, rules: Path) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(register, PERIOD, rules, MONTHS)
    print(f"simulate {MONTHS} months once, two benefits changed, {result['totals']['rights']:,} rights due: "
          f"{time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU, peak RSS "
          f"{peak_rss_gib():.2f} GiB, load {os.getloadavg()[0]:.1f}", flush=True)


def _measure(label: str, step, *step_args, repeat: int) -> None:
    step(*step_args)  # warm
    runs, cpu = [], []
    for _ in range(repeat):
        reset_peak_rss()
        t0, c0 = time.perf_counter(), time.process_time()
        result = step(*step_args)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # CPU time (all threads) shows the work when a shared machine stretches the wall clock
    print(f"{label}, {result['totals']['rights']:,} rights due: median {statistics.median(runs):.3f} s wall, "
          f"{statistics.median(cpu):.3f} s CPU (runs {[round(r, 3) for r in runs]}), peak RSS "
          f"{peak_rss_gib():.2f} GiB, load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
