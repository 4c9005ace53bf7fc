"""National scale: one month of a whole country's payroll, end to end on PostgreSQL, with each step's time and
peak memory (issue 15's goal: calculate, approve, export with XSD validation and reconcile in <= 100 s with a
peak <= 6 GiB at 10 M rights; `ledger verify` reported beside it, at >= 1 M postings/s).

    python -m benchmarks.national_scale --rights 10000000 --db postgresql://postgres@127.0.0.1:5432/test

Steps, each in a fresh Python process as a CLI command would run (so each step's peak resident memory is its
own, imports and JIT-cache loading included): generate (the synthetic register, synthetic/register.py; not part
of the monthly run but reported), calculate (validate the register, compute entitlements, arrears, deductions,
netting, store the draft), approve (post the balanced batch to the ledger), export (pain.001 files, postal list,
manifest, "sent" postings), verify (recompute the ledger's whole hash chain). They call payroll.cycle and
ledgers.verify directly, the functions behind `isplata calculate|approve|export|ledger verify`. The ledger
lives in a private schema of the given database, dropped at the end unless --keep. A step that fails is
reported with its error and the steps that depend on it are not run. Beside each step's time, where it went: the
CPU seconds of the step's process (all its threads) and of the PostgreSQL server when it runs on this machine (on
2 cores, a step whose two add up to about twice its wall time is bound by the CPU, one well below by waiting:
disk, locks). Output: a table and a JSON file."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

from benchmarks.machine import describe, one_line

STEPS = ("generate", "calculate", "approve", "export", "bank-returns", "reconcile", "verify")
MONTH_STEPS = ("calculate", "approve", "export", "reconcile")   # what the month goal covers (issue 15)
GOAL_SECONDS, GOAL_PEAK_GIB = 100, 6
VERIFY_GOAL_PER_S = 1_000_000  # postings per second of `ledger verify`
RSS_LIMIT_GIB = 16  # a step past this is killed (a shared machine kept out of swap), not merely over the goal
DEFAULT_OUT = os.path.join("benchmarks", "results", "national_scale.json")


# ---- the steps (run inside a worker process) ----------------------------------------------------------------

def step_generate(ctx: dict) -> dict:
    from synthetic.register import generate_register

    summary = generate_register(ctx["register"], ctx["rights"], ctx["seed"], ctx["period"], ctx["country"])
    return {"rights": ctx["rights"], "summary": _small(summary)}


def step_calculate(ctx: dict) -> dict:
    from payroll import cycle

    summary = cycle.calculate(ctx["db"], ctx["register"], ctx["period"], by="maker", rules=None,
                              store_dir=ctx["store"], progress=stage)
    return _small(summary)


def step_approve(ctx: dict) -> dict:
    from payroll import cycle

    return _small(cycle.approve(ctx["db"], ctx["payroll"], by="checker", progress=stage))


def step_export(ctx: dict) -> dict:
    from payroll import cycle

    manifest = cycle.export(ctx["db"], ctx["payroll"], ctx["files"], progress=stage)
    return {key: manifest.get(key) for key in ("payments", "ctrl_sum_minor", "new_postings")} | {
        "files": len(manifest.get("files", []))}


def step_bank_returns(ctx: dict) -> dict:
    from formats.catalogue import load_catalogue
    from payroll.demo import simulate_bank

    out = simulate_bank(ctx["db"], ctx["payroll"], Path(ctx["returns"]), load_catalogue(country=ctx["country"]),
                        ctx["seed"])
    return {"files": out["files"], "returned": out["returned"], "rejected": out["rejected"]}


def step_reconcile(ctx: dict) -> dict:
    from payroll.reconcile import reconcile

    files = sorted(str(path) for path in Path(ctx["returns"]).glob("*.xml"))
    outputs = Path(ctx["returns"]).parent / "reconciled"   # never beside the return files
    outputs.mkdir(parents=True, exist_ok=True)
    return _small(reconcile(ctx["db"], files, progress=stage, out_dir=outputs))


def step_verify(ctx: dict) -> dict:
    from ledgers.store import Ledger
    from ledgers.verify import verify

    ledger = Ledger(ctx["db"])
    try:
        return verify(ledger).as_dict()
    finally:
        ledger.close()


STAGE_MARK = "STAGE "
_STEP_START = [0.0]
_STAGES: list[dict] = []


def stage(name: str, completed: int | None = None, total: int | None = None) -> None:
    """Progress callback of the payroll steps: one line on stderr per stage with the time since the step
    started and the memory so far, written at once, so the parent still has them if it kills the process."""
    if completed and completed == total:  # a countable stage's last count: it started at its first call
        return
    line = {"stage": name, "at_s": round(time.perf_counter() - _STEP_START[0], 2),
            "rss_mib": round(_status_mib("VmRSS:"), 1), "peak_mib": round(_status_mib("VmHWM:"), 1)}
    _STAGES.append(line)
    print(STAGE_MARK + json.dumps(line), file=sys.stderr, flush=True)


def _small(value):
    """The JSON-safe, short part of a step's result (no long lists)."""
    if isinstance(value, dict):
        return {k: _small(v) for k, v in value.items() if not (isinstance(v, list) and len(v) > 20)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [_small(v) for v in value]
    return str(value)


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mib() -> float:
    return _status_mib("VmHWM:")


def perform(step: str, ctx: dict) -> dict:
    """Runs one step here: seconds inside the step, peak RSS of this process so far, result or error, and where
    the time went: CPU seconds of this process (every thread) and of the local PostgreSQL server in the step."""
    server_before = server_cpu_s(ctx.get("db", ""))
    cpu_before = _own_cpu_s()
    start = _STEP_START[0] = time.perf_counter()
    _STAGES.clear()
    try:
        result, error = globals()[f"step_{step.replace('-', '_')}"](ctx), None
    except Exception as exc:  # reported to the parent, which stops the steps that depend on this one
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        result, error = None, f"{type(exc).__name__}: " + " | ".join(lines)[:400]
    stage("end of step")
    seconds, cpu = time.perf_counter() - start, _own_cpu_s() - cpu_before
    server_after = server_cpu_s(ctx.get("db", ""))
    server = None if server_before is None or server_after is None else server_after - server_before
    return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(), "result": result, "error": error,
            "stages": list(_STAGES), "cpu_s": round(cpu, 2),
            "server_cpu_s": None if server is None else round(max(server, 0.0), 2)}


def _own_cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread."""
    return time.process_time()


LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def server_cpu_s(url: str, proc: str = "/proc") -> float | None:
    """CPU seconds (user + system) the PostgreSQL server of `url` has used so far, when it runs on this machine:
    every process named postgres, plus what each collected from its children that ended (a backend's time goes
    to the postmaster when it exits). Every session of the server counts, its background writers too, so on a
    shared server the figure holds others' work as well. The processes are read one after the other, so a backend
    that ends meanwhile may be counted twice or not at all: a step's figure is good to a backend's time (the caller
    keeps it at 0 or more). None for another database, a server on another host, or no /proc."""
    if not url.startswith("postgresql") or (urlsplit(url).hostname or "") not in LOCAL_HOSTS:
        return None
    ticks, total, seen = os.sysconf("SC_CLK_TCK"), 0, False
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, "stat")) as handle:
                line = handle.read()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        name, fields = line[line.find("(") + 1:line.rfind(")")], line[line.rfind(")") + 2:].split()
        if name != "postgres":
            continue
        seen = True
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks if seen else None


def worker(step: str, ctx: dict) -> None:
    """The child side of run_step: one step, one JSON line on stdout."""
    print(json.dumps(perform(step, ctx)))


# ---- the driver ----------------------------------------------------------------------------------------------

def run_step(step: str, ctx: dict, log=print, max_rss_gib: float = RSS_LIMIT_GIB) -> dict:
    """Runs a step in a fresh process, killing it if its resident memory passes max_rss_gib (so a step that
    does not scale fails the goal instead of pushing a shared machine into swap or the OOM killer)."""
    log(f"-- {step} ...")
    start = time.perf_counter()
    command = [sys.executable, "-m", "benchmarks.national_scale", "--worker", step, "--context", json.dumps(ctx)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        watched_mib = _watch(proc, max_rss_gib * 1024)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    stages = [json.loads(line[len(STAGE_MARK):]) for line in stderr.splitlines() if line.startswith(STAGE_MARK)]
    stderr = "\n".join(line for line in stderr.splitlines() if not line.startswith(STAGE_MARK))
    if watched_mib > max_rss_gib * 1024:
        result = {"seconds": None, "peak_rss_mib": watched_mib, "result": None,
                  "error": f"killed: resident memory passed {max_rss_gib:g} GiB after {wall:.0f} s"}
    elif proc.returncode != 0 or not lines:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        result = {"seconds": None, "peak_rss_mib": watched_mib or None, "result": None,
                  "error": f"worker exited {proc.returncode}: " + " | ".join(tail)}
    else:
        result = json.loads(lines[-1])
    result.update(step=step, wall_s=wall, stages=stages)
    for item in stages:
        log(f"      {item['at_s']:8.1f} s  rss {_fmt_mib(item['rss_mib']):>9}  peak {_fmt_mib(item['peak_mib']):>9}"
            f"  {item['stage']}")
    log(f"   {step}: {_fmt_s(result['seconds'])} in the step, {wall:.1f} s wall, peak "
        f"{_fmt_mib(result['peak_rss_mib'])}" + (f"; FAILED: {result['error']}" if result["error"] else ""))
    return result


def _watch(proc: subprocess.Popen, limit_mib: float, interval_s: float = 0.2) -> float:
    """Waits for the process, sampling its resident memory; kills it above limit_mib. Returns the peak seen."""
    peak = 0.0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:  # the process ended between poll() and open()
            pass
        if peak > limit_mib:
            proc.kill()
            proc.wait()
            break
        time.sleep(interval_s)
    return peak


def _fmt_s(value) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _fmt_mib(value) -> str:
    return "-" if value is None else f"{value / 1024:.2f} GiB" if value >= 1024 else f"{value:.0f} MiB"


class Database:
    """The ledger's home: a private schema of a PostgreSQL database (dropped unless kept), or a SQLite file."""

    def __init__(self, url: str, keep: bool):
        self.base, self.keep, self.schema = url, keep, None
        if url.startswith("postgresql"):
            import psycopg

            self.schema = f"isplata_national_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in url else "?"
            self.url = f"{url}{sep}options={quote('-csearch_path=' + self.schema)}"
        else:
            self.url = url

    def close(self) -> None:
        if self.schema and not self.keep:
            import psycopg

            with psycopg.connect(self.base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def run_step_here(step: str, ctx: dict, log=print, max_rss_gib: float = RSS_LIMIT_GIB) -> dict:
    """The same step in this process (tests: no process start per step; peak memory is then the process's)."""
    start = time.perf_counter()
    out = perform(step, ctx)
    out.update(step=step, wall_s=time.perf_counter() - start)
    log(f"   {step}: {_fmt_s(out['seconds'])}" + (f"; FAILED: {out['error']}" if out["error"] else ""))
    return out


def run_month(args, log=print, runner=run_step) -> dict:
    work = args.work or tempfile.mkdtemp(prefix="isplata-national-")
    db = Database(args.db, args.keep)
    from payroll.cycle import open_db

    open_db(db.url, create=True).close()  # only `db init` creates a ledger; the benchmark is its own officer
    ctx = {"rights": args.rights, "seed": args.seed, "period": args.period, "country": args.country,
           "db": db.url, "register": os.path.join(work, "register"), "store": os.path.join(work, "store"),
           "files": os.path.join(work, "files"), "returns": os.path.join(work, "returns")}
    steps, report = [], {"rights": args.rights, "country": args.country, "period": args.period,
                         "database": args.db + (f" (schema {db.schema})" if db.schema else ""),
                         "machine": describe(args.db if args.db.startswith("postgresql") else None)}
    try:
        for step in args.steps:
            if any(s["error"] for s in steps):
                steps.append({"step": step, "error": "not run: an earlier step failed", "seconds": None,
                              "wall_s": None, "peak_rss_mib": None, "result": None})
                continue
            out = runner(step, ctx, log, args.max_rss_gib)
            steps.append(out)
            if step == "calculate" and out["result"]:
                ctx["payroll"] = out["result"].get("payroll")
    finally:
        db.close()
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    report["steps"] = steps
    report["month"] = month_summary(steps)
    return report


def month_summary(steps: list[dict]) -> dict:
    month = [s for s in steps if s["step"] in MONTH_STEPS]
    ran = [s for s in month if not s["error"]]
    wall = sum(s["wall_s"] for s in ran)
    peak = max((s["peak_rss_mib"] for s in ran), default=None)
    complete = len(ran) == len(MONTH_STEPS)
    return {"steps_run": [s["step"] for s in ran], "complete": complete, "wall_s": wall,
            "cpu_s": _total(ran, "cpu_s"), "server_cpu_s": _total(ran, "server_cpu_s"),
            "peak_rss_mib": peak, "goal_s": GOAL_SECONDS, "goal_peak_gib": GOAL_PEAK_GIB,
            "meets_goal": bool(complete and wall <= GOAL_SECONDS and peak is not None
                               and peak <= GOAL_PEAK_GIB * 1024),
            "verify_postings_per_s": verify_rate(steps)}


def _total(steps: list[dict], key: str) -> float | None:
    """The steps' sum of a CPU figure, None when a step has none (an older result file, a remote server)."""
    values = [s.get(key) for s in steps]
    return None if not values or None in values else round(sum(values), 2)


def verify_rate(steps: list[dict]) -> float | None:
    """Postings per second of `ledger verify` (in the step), or None if it did not run."""
    verify = next((s for s in steps if s["step"] == "verify" and not s["error"]), None)
    if verify is None or not verify["seconds"]:
        return None
    return (verify.get("result") or {}).get("postings", 0) / verify["seconds"]


def cpu_note(month: dict) -> str:
    """', CPU 150.2 s (steps) + 80.1 s (PostgreSQL) of 2 cores' where the month's results carry them."""
    if month.get("cpu_s") is None:
        return ""
    server = "" if month.get("server_cpu_s") is None else f" + {month['server_cpu_s']:.1f} s (PostgreSQL)"
    return f", CPU {month['cpu_s']:.1f} s (steps){server} of {os.cpu_count()} cores"


def verify_line(month: dict) -> str:
    rate = month.get("verify_postings_per_s")
    if rate is None:
        return ""
    verdict = "meets" if rate >= VERIFY_GOAL_PER_S else "does not meet"
    return f"ledger verify: {rate:,.0f} postings/s, {verdict} the goal of >= {VERIFY_GOAL_PER_S:,}/s"


def format_report(report: dict) -> str:
    lines = [f"national scale: {report['rights']:,} rights, {report['country']}, period {report['period']}, "
             f"{report['database']}",
             f"{'step':<11}{'in step':>10}{'wall':>10}{'peak RSS':>11}{'CPU':>10}{'PG CPU':>10}  result"]
    for s in report["steps"]:
        detail = s["error"] or json.dumps(s["result"], default=str)[:150]
        wall = "-" if s["wall_s"] is None else f"{s['wall_s']:.1f} s"
        lines.append(f"{s['step']:<11}{_fmt_s(s['seconds']):>10}{wall:>10}{_fmt_mib(s['peak_rss_mib']):>11}"
                     f"{_fmt_s(s.get('cpu_s')):>10}{_fmt_s(s.get('server_cpu_s')):>10}  {detail}")
    month = report["month"]
    verdict = ("meets" if month["meets_goal"] else "does NOT meet") + f" the goal (<= {GOAL_SECONDS} s, <= " \
        f"{GOAL_PEAK_GIB} GiB)"
    lines.append(f"month ({', '.join(month['steps_run'])}): {month['wall_s']:.1f} s wall, peak "
                 f"{_fmt_mib(month['peak_rss_mib'])}{cpu_note(month)}: {verdict}" +
                 ("" if month["complete"] else "; INCOMPLETE: not every step of the month ran"))
    if verify_line(month):
        lines.append(verify_line(month))
    lines.append(f"machine: {one_line(report['machine'])}")
    return "\n".join(lines)


def render_readme(report: dict) -> str:
    """README's national-scale table (markdown) from a run's JSON (the month judged by today's goal)."""
    month = month_summary(report["steps"])
    lines = [f"One month for {report['rights']:,} rights ({report['country']}, {report['period']}) on "
             f"PostgreSQL, measured {report['machine']['measured_at']} with `{report.get('command', '')}` on "
             f"{one_line(report['machine'])}.", "",
             "| step | time in the step | wall (fresh process) | peak memory | CPU of the step's process | CPU of "
             "PostgreSQL |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for s in report["steps"]:
        wall = "-" if s["wall_s"] is None else f"{s['wall_s']:.1f} s"
        note = "" if not s["error"] else f" ({s['error']})" if s["error"].startswith("not run") else \
            f" (failed: {s['error']})"
        lines.append(f"| {s['step']}{note} | {_fmt_s(s['seconds'])} | {wall} | {_fmt_mib(s['peak_rss_mib'])} | "
                     f"{_fmt_s(s.get('cpu_s'))} | {_fmt_s(s.get('server_cpu_s'))} |")
    verdict = "meets" if month["meets_goal"] else "does not meet"
    ran = ", ".join(month["steps_run"]) or "no step completed"
    lines.append(f"| **month** ({ran}) | | **{month['wall_s']:.1f} s** | **{_fmt_mib(month['peak_rss_mib'])}** | "
                 f"{_fmt_s(month.get('cpu_s'))} | {_fmt_s(month.get('server_cpu_s'))} |")
    lines += ["", f"The month {verdict} the goal of {GOAL_SECONDS} s and {GOAL_PEAK_GIB} GiB"
              + ("." if month["complete"] else " (not every step ran).")]
    if verify_line(month):
        lines += [verify_line(month).capitalize() + "."]
    lines += [line for s in report["steps"] if (line := _stage_note(s))]
    return "\n".join(lines) + "\n"


def _stage_note(step: dict) -> str:
    """'- calculate: validating the register 3.7-234.1 s (peak 10.35 GiB), ...' from the step's stage marks."""
    marks = step.get("stages") or []
    if not marks:
        return ""
    end = step["wall_s"] if step["seconds"] is None else step["seconds"]
    spans = []
    for mark, after in zip(marks, marks[1:] + [None]):
        if mark["stage"] == "end of step":
            continue
        stop = f"{after['at_s']:.1f} s" if after else f"{end:.0f} s (killed)" if step["error"] else "end"
        peak = after["peak_mib"] if after else step["peak_rss_mib"]
        spans.append(f"{mark['stage']} {mark['at_s']:.1f}-{stop} (peak {_fmt_mib(peak)})")
    return f"- {step['step']}: " + "; ".join(spans) if spans else ""


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rights", type=int, default=10_000_000)
    parser.add_argument("--db", default=os.environ.get("ISPLATA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--country", default="me", choices=("me", "rs", "ua"))
    parser.add_argument("--period", default="2026-05")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated subset of " + ", ".join(STEPS))
    parser.add_argument("--work", default=None, help="folder for the register, drafts and files (default: a "
                        "temporary folder, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the database schema and the work folder")
    parser.add_argument("--max-rss-gib", type=float, default=RSS_LIMIT_GIB,
                        help="kill a step whose resident memory passes this (default: %(default)s GiB)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--readme", nargs="?", const=DEFAULT_OUT, default=None, metavar="JSON",
                        help="print README's national-scale table from a result file and exit")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--context", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(args.steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s) {unknown}; choose from {', '.join(STEPS)}")
    return args


def main(argv=None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker(args.worker, json.loads(args.context))
        return 0
    if args.readme:
        with open(args.readme) as handle:
            sys.stdout.write(render_readme(json.load(handle)))
        return 0
    report = run_month(args)
    report["command"] = "python -m benchmarks.national_scale " + " ".join(sys.argv[1:] if argv is None else argv)
    print(format_report(report))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=str)
    print(f"written {args.out}")
    return 0 if report["month"]["complete"] and not any(s["error"] for s in report["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
