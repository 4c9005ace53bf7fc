"""The register's rules (formats/register_checks.py) in groups, each run on a thread as soon as the tables it
reads are loaded, beside the reading of the rest; the problems are reported as if the groups had run in turn.
"""
from concurrent.futures import ThreadPoolExecutor

from formats.problem_log import PROBLEMS_PER_RULE_MAX, ProblemLog, ProblemRecorder
from formats.register_checks import Checks, SharedIds
from formats.schemas import OPTIONAL_TABLES, REGISTER

# Threads the groups of rules run on. Their numpy and Arrow work runs without the GIL, so two cores check two
# groups at once, and beside the reading of the tables (10 M rights: about 6 s of checks on one core otherwise).
CHECK_THREADS = 2
# The groups of rules in the order their problems are reported.
CHECK_GROUPS = ("date_ranges", "persons", "households", "rights", "payees", "deductions", "maintenance_titles",
                "register_facts")
# The tables each group reads (its own, and those whose ids it looks up): it starts once they are loaded (or found
# missing); a read of any other table fails loudly (Declared), as that table may not be loaded yet.
GROUP_TABLES = {"date_ranges": tuple({**REGISTER, **OPTIONAL_TABLES}), "persons": ("persons",),
                "households": ("households", "persons"), "rights": ("rights", "persons", "payees", "households"),
                "payees": ("payees",), "deductions": ("deductions", "rights", "payees"),
                "maintenance_titles": ("maintenance_titles", "persons"),
                "register_facts": ("housing_costs", "wage_bases", "households", "persons")}
# Of the groups ready at once, the longest first (at national scale households, payees and rights take nine
# tenths of the time), so that the two threads end together.
CHECK_START_ORDER = ("households", "payees", "rights", "persons", "date_ranges", "deductions", "maintenance_titles",
                     "register_facts")
# every group is started (threads), reported and knows its tables: a group missing from one of them would go
# unchecked on two threads while one thread and the tests still ran it
assert sorted(CHECK_START_ORDER) == sorted(CHECK_GROUPS) == sorted(GROUP_TABLES)


def check_register(loaded, benefit_codes: frozenset, household_benefits: frozenset, log: ProblemLog,
                   threads: int = CHECK_THREADS) -> None:
    """Run every rule over the loaded tables, adding problems to `log` (RegisterChecks, every table loaded)."""
    with RegisterChecks(benefit_codes, household_benefits, threads, log.cap_per_rule) as checks:
        checks.finish(loaded, log)


class RegisterChecks:
    """check_register, each group of rules (CHECK_GROUPS) started on one of `threads` threads as soon as the
    tables it reads (GROUP_TABLES) are loaded: `table_loaded` is load_tables' `on_table`. Each group records its
    problems (ProblemRecorder); `finish` starts the groups not yet started, waits for all and gives `log` their
    problems group after group in CHECK_GROUPS' order, so it holds the same problems in the same order as when the
    groups ran one after another on the whole register (the rules only read the tables; the sorted ids they share
    are made once). With one thread the groups run in turn in `finish`. Use it as a context manager: leaving it
    waits for the groups started."""

    def __init__(self, benefit_codes: frozenset, household_benefits: frozenset, threads: int = CHECK_THREADS,
                 cap_per_rule: int = PROBLEMS_PER_RULE_MAX):
        assert threads >= 1
        self._codes, self._household_codes = benefit_codes, household_benefits
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="checks") if threads > 1 else None
        self._ids, self._started, self._tables = SharedIds(), {}, set()
        self._recorders = {group: ProblemRecorder(cap_per_rule) for group in CHECK_GROUPS}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if self._pool is not None:  # on an error (a table that failed to load, Ctrl-C) the groups not begun are not
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)  # run before it comes through

    def table_loaded(self, loaded, name: str) -> None:
        self._tables.add(name)
        if self._pool is not None:
            for group in CHECK_START_ORDER:
                if group not in self._started and self._tables.issuperset(GROUP_TABLES[group]):
                    self._started[group] = self._pool.submit(self._run, loaded, group)

    def finish(self, loaded, log: ProblemLog) -> None:
        for group in CHECK_START_ORDER if self._pool is not None else CHECK_GROUPS:
            if group not in self._started:
                self._started[group] = self._pool.submit(self._run, loaded, group) if self._pool is not None \
                    else self._run(loaded, group)
        if self._pool is not None:
            for done in self._started.values():
                done.result()  # a check that fails (a programmer error) fails the read
        for group in CHECK_GROUPS:
            self._recorders[group].replay(log)

    def _run(self, loaded, group: str) -> None:
        checks = Checks(Declared(loaded, GROUP_TABLES[group]), self._recorders[group], self._ids)
        if group == "rights":
            checks.rights(self._codes, self._household_codes)
        else:
            getattr(checks, group)()


class Declared:
    """The loaded tables as one group of rules sees them: only `names` (GROUP_TABLES); asking for another table
    is a programmer error, raised (it may not be loaded yet when the group runs)."""

    def __init__(self, loaded, names):
        self._loaded, self._names = loaded, frozenset(names)
        self.tables, self.files = _DeclaredMap(loaded.tables, self._names), _DeclaredMap(loaded.files, self._names)

    def usable(self, name: str, *columns: str) -> bool:
        _check_declared(name, self._names)
        return self._loaded.usable(name, *columns)


class _DeclaredMap:
    def __init__(self, mapping: dict, names: frozenset):
        self._mapping, self._names = mapping, names

    def __contains__(self, name) -> bool:
        _check_declared(name, self._names)
        return name in self._mapping

    def __getitem__(self, name):
        _check_declared(name, self._names)
        return self._mapping[name]


def _check_declared(name: str, names: frozenset) -> None:
    if name not in names:
        raise RuntimeError(f"a rule reads table {name}, which its group does not declare (GROUP_TABLES)")
