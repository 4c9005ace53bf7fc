"""Named crash points: the places between two writes where a step can be killed (power cut, OOM killer, kill -9).

Setting ISPLATA_CRASH_AT=<name> makes the process SIGKILL itself when it reaches that point, and nothing else: no
other code path looks at the variable, so what runs in production is exactly what the crash tests kill. The tests
(tests/payroll/test_crash.py) kill a step at every point, run it again, and compare ledger and state with a clean
run.
"""
import os
import signal

CRASH_POINTS = (
    "calculate.after_files",       # draft's Parquet files staged, nothing in the database
    "calculate.before_commit",     # payroll row and event written, folder renamed into place, not committed
    "approve.after_batch",         # approval batch written, event not yet, not committed
    "approve.before_commit",       # batch and event written, not committed
    "export.after_files",          # files staged and validated, sent batch written, not committed
    "export.after_batch",          # sent batch written, event not yet, not committed
    "export.after_commit",         # committed, files not yet renamed into place
    "export.after_first_rename",   # one file in place, the rest (and the manifest) not
    "reconcile.after_batch",       # a file's reversal batch written, holds and event not yet, not committed
    "reconcile.after_holds",       # batch and holds written, event not yet, not committed
    "reconcile.after_commit",      # a file committed, its outputs (actions, exceptions) not yet written
    "hold_release.before_commit",  # release row and event written, not committed
)


def crash_point(name: str) -> None:
    """Kill this process here if ISPLATA_CRASH_AT names this point."""
    assert name in CRASH_POINTS, name
    if os.environ.get("ISPLATA_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
