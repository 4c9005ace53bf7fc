"""Timing machinery of the comparison: the sides of a pair are run in the same process, interleaved (each
repetition runs every side once, in a rotating order), so that a noisy, shared machine slows all of them alike
and the ratio of their medians holds. An untimed warm-up run of each side first takes imports, JIT loading
and caches out of the figures. Peak memory of a side is the largest rise of the process's peak resident set
(VmHWM, reset through /proc/self/clear_refs before each run) over its timed runs."""
import dataclasses
import gc
import statistics
import time
from typing import Any, Callable


@dataclasses.dataclass
class Side:
    """One tool doing the pair's work. `run` is timed; `setup` (untimed) runs before every repetition;
    `collect` (untimed) reads back what the last run stored, or `finish` reshapes its output; `skip` names
    why the side cannot run here (a missing optional package), and then nothing runs."""
    name: str
    run: Callable[[], Any] | None = None
    setup: Callable[[], None] | None = None
    skip: str | None = None
    warm_up: bool = True          # False for sides too slow to run one extra time (the plain-Python reference)
    reps_max: int | None = None   # at most this many timed repetitions (same reason)
    collect: Callable[[], Any] | None = None  # untimed, after the last run: the output to check (default: run's)
    finish: Callable[[Any], Any] | None = None  # untimed: turns the last run's output into the one to check
    version: str = ""
    count: int | None = None      # units of work when the side does only part of the pair's (else the pair's)


@dataclasses.dataclass
class SideResult:
    name: str
    version: str = ""
    count: int | None = None
    skipped: str | None = None
    runs_s: list[float] = dataclasses.field(default_factory=list)
    peak_rss_mib: float | None = None
    output: Any = None

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.runs_s) if self.runs_s else None


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # 5 = reset the peak resident set size (Linux >= 4.0)
        return True
    except OSError:
        return False


def peak_rss_gib() -> float:
    """Peak resident set size of this process since start or the last reset_peak_rss(), in GiB."""
    return _status_kib("VmHWM") / 2**20


def run_measured(side: Side) -> tuple[Any, float, float | None]:
    """Runs a side once: (output, seconds, rise of peak RSS in MiB or None where it cannot be measured)."""
    if side.setup is not None:
        side.setup()
    gc.collect()
    can_measure = reset_peak_rss()
    base_kib = _status_kib("VmRSS")
    start = time.perf_counter()
    output = side.run()
    seconds = time.perf_counter() - start
    # the kernel updates VmHWM lazily, so a run that allocates nothing may read a peak a few pages below the base
    # read just after the reset: a rise is never negative
    peak = max(0.0, (_status_kib("VmHWM") - base_kib) / 1024) if can_measure else None
    return output, seconds, peak


def measure(sides: list[Side], reps: int, log: Callable[[str], None] = print) -> list[SideResult]:
    """Warm-up run of each side, then `reps` interleaved timed repetitions."""
    results = [SideResult(side.name, side.version, side.count, side.skip) for side in sides]
    live = [i for i, side in enumerate(sides) if side.skip is None]
    for i in live:
        if sides[i].warm_up:
            results[i].output, seconds, _peak = run_measured(sides[i])
            log(f"    warm-up {sides[i].name}: {seconds:.3f} s")
    for rep in range(reps):
        order = live[rep % len(live):] + live[:rep % len(live)] if live else []
        for i in order:
            if sides[i].reps_max is not None and len(results[i].runs_s) >= sides[i].reps_max:
                continue
            output, seconds, peak = run_measured(sides[i])
            results[i].runs_s.append(seconds)
            if peak is not None:
                results[i].peak_rss_mib = max(peak, results[i].peak_rss_mib or 0.0)
            results[i].output = output
            log(f"    rep {rep + 1}/{reps} {sides[i].name}: {seconds:.3f} s")
    for i in live:
        if sides[i].collect is not None:
            results[i].output = sides[i].collect()
        elif sides[i].finish is not None:
            results[i].output = sides[i].finish(results[i].output)
    return results


def bench_size(full: int, tiny: int) -> int:
    """Rows a pytest-benchmark suite runs with: ISPLATA_BENCH_ROWS when set (e.g. 1000000 or 10000000, to run a
    suite at 1e6 or 1e7 rows), else `full` under ISPLATA_BENCH_FULL=1 (the size its goals are stated at), else
    `tiny`, the size the normal test run (CI) uses so that no benchmark rots."""
    import os

    rows = os.environ.get("ISPLATA_BENCH_ROWS")
    if rows:
        return int(rows.replace("_", ""))
    return full if os.environ.get("ISPLATA_BENCH_FULL") == "1" else tiny
