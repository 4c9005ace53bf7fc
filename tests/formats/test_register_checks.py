"""The vectorised helpers of formats/register_checks.py against plain-Python references."""
import time

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import register_checks
from formats.errors import InputError
from formats.problem_log import ProblemLog, ProblemRecorder
from formats.register import load_tables, read_register, sort_problems
from formats.register_checks import dangling_rows, duplicate_rows, sorted_distinct
from formats.rule_groups import check_register
from tests.formats.test_register import BENEFITS, HOUSEHOLD_BENEFITS, write_register

small = st.one_of(st.none(), st.integers(-3, 3))


def reference_duplicates(*columns):
    seen, found = set(), []
    for row, key in enumerate(zip(*columns)):
        if None in key:
            continue
        if key in seen:
            found.append(row)
        seen.add(key)
    return found


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda width: st.lists(st.tuples(*[small] * width), max_size=60)))
def test_duplicate_rows_matches_reference(rows):
    width = len(rows[0]) if rows else 1
    columns = [[row[i] for row in rows] for i in range(width)]
    arrays = [pa.array(column, pa.int64()) for column in columns]
    assert duplicate_rows(*arrays).tolist() == reference_duplicates(*columns)


def test_duplicate_rows_with_dates_and_large_ids():
    ids = pa.array([2**62, 5, 2**62, 5, -(2**62)], pa.int64())
    days = pa.array([1, 2, 1, 3, 1], pa.int32()).cast(pa.date32())
    assert duplicate_rows(ids, days).tolist() == [2]


@settings(max_examples=100, deadline=None)
@given(st.lists(small, max_size=40), st.lists(st.integers(-3, 3), max_size=10))
def test_dangling_rows_matches_reference(ids, targets):
    expected = [row for row, value in enumerate(ids) if value is not None and value not in targets]
    found = dangling_rows(pa.array(ids, pa.int64()), sorted_distinct(np.array(targets, dtype=np.int64)))
    assert found.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda width: st.lists(st.tuples(*[st.integers(-3, 3)] * width), max_size=60)),
       st.lists(st.integers(0, 59), max_size=5))
def test_duplicate_rows_of_sorted_keys_match_reference(rows, null_rows):
    """Keys already in order take the side-by-side path; nulls (skipped) may sit anywhere."""
    rows = sorted(rows)
    width = len(rows[0]) if rows else 1
    columns = [[None if i in null_rows and c == 0 else row[c] for i, row in enumerate(rows)] for c in range(width)]
    arrays = [pa.array(column, pa.int64()) for column in columns]
    assert duplicate_rows(*arrays).tolist() == reference_duplicates(*columns)


# ---- the groups of rules on threads ----------------------------------------------------------------------------

def _loaded_with_problems(tmp_path):
    """A register with problems for several groups of rules and several rows per rule (the cap then matters)."""
    edits = [("persons", 1, "birth_date", "1850-01-01"), ("persons", 2, "person_id", "1"),
             ("households", 2, "person_id", "99"), ("households", 1, "role", "cousin"),
             ("households", 2, "role", "uncle"), ("rights", 2, "benefit", "ME_NONE"),
             ("rights", 1, "benefit", "ME_NOTHING"), ("rights", 1, "payee_id", "77"),
             ("payees", 1, "iban", "ME25510000000000006346"), ("payees", 2, "bic", "XX"),
             ("payees", 1, "country", "me"), ("deductions", 1, "kind", "bribe"), ("deductions", 1, "right_id", "555")]
    log = ProblemLog()
    loaded = load_tables(write_register(tmp_path / "csv", edits), log)
    return loaded, log.problems()


def _checked(loaded, threads, cap):
    log = ProblemLog(cap)
    check_register(loaded, frozenset(BENEFITS), HOUSEHOLD_BENEFITS, log, threads=threads)
    return [problem.render() for problem in log.problems()]


def test_groups_on_threads_report_what_they_report_in_turn(tmp_path, monkeypatch):
    """Two threads, the first group of the report made to end last: the same problems, in the same order, the
    same rows kept under each rule's cap, as one group after another."""
    loaded, conform_problems = _loaded_with_problems(tmp_path)
    assert not conform_problems
    for cap in (1, 1000):
        in_turn = _checked(loaded, 1, cap)
        assert len(in_turn) >= 10 and len({p.split(":")[0] for p in in_turn}) >= 4
        first = register_checks.Checks.date_ranges
        monkeypatch.setattr(register_checks.Checks, "date_ranges", lambda self: (time.sleep(0.3), first(self)))
        assert _checked(loaded, 2, cap) == in_turn
        monkeypatch.undo()


def test_a_failing_group_fails_the_check(tmp_path, monkeypatch):
    loaded, _ = _loaded_with_problems(tmp_path)

    def broken(self):
        raise RuntimeError("a rule's programmer error")

    monkeypatch.setattr(register_checks.Checks, "payees", broken)
    with pytest.raises(RuntimeError, match="programmer error"):
        _checked(loaded, 2, 1000)


def test_recorder_replays_into_a_log_as_if_added_there():
    values = pa.array(["a", "b", "c", "d"])
    calls = [("add_rows", ("x.csv", np.array([0, 2, 3]), "col", values, "rule one", "fix")),
             ("add", ("x.csv", 4, "col", "v", "rule two", "fix")),
             ("add_rows", ("x.csv", np.array([], np.int64), "col", values, "rule one", "fix")),
             ("add_rows", ("y.csv", np.array([1]), "col", None, "rule one", "fix"))]
    direct, recorder, replayed = ProblemLog(2), ProblemRecorder(), ProblemLog(2)
    for method, arguments in calls:
        getattr(direct, method)(*arguments)
        getattr(recorder, method)(*arguments)
    recorder.replay(replayed)
    assert replayed.problems() == direct.problems() and replayed.count() == direct.count() == 5


def test_read_register_checks_as_tables_are_read_and_reports_as_in_turn(tmp_path):
    """read_register starts each group of rules once its tables are read (formats.rule_groups): the same problems,
    word for word and in order, as the tables read first and the groups run one after another."""
    folder = write_register(tmp_path / "csv", [("persons", 1, "birth_date", "1850-01-01"),
                                               ("households", 2, "person_id", "99"), ("rights", 2, "benefit", "X"),
                                               ("payees", 2, "bic", "XX"), ("deductions", 1, "right_id", "555")])
    with pytest.raises(InputError) as caught:
        read_register(folder, BENEFITS, HOUSEHOLD_BENEFITS, cap_per_rule=1)
    log = ProblemLog(1)
    loaded = load_tables(folder, log)
    check_register(loaded, frozenset(BENEFITS), HOUSEHOLD_BENEFITS, log, threads=1)
    assert [p.render() for p in caught.value.problems] == [p.render() for p in sort_problems(log.problems())]
    assert len(caught.value.problems) >= 5


def test_a_rule_reading_a_table_its_group_does_not_declare_fails_loudly(tmp_path, monkeypatch):
    loaded, _ = _loaded_with_problems(tmp_path)
    monkeypatch.setattr(register_checks.Checks, "persons", lambda self: self.col("rights", "right_id"))
    with pytest.raises(RuntimeError, match="does not declare"):
        _checked(loaded, 2, 1000)


def test_the_recorder_keeps_the_first_rows_the_log_can_list_not_the_rows_nor_the_column():
    """Millions of bad cells cost the recorder cap_per_rule rows and values each, not the arrays; replayed, the
    log lists and counts as if the rows had been added to it, across calls that share a rule's cap."""
    import gc
    import weakref

    values, rows = np.arange(100_000) * 3, np.arange(0, 100_000, 2)
    calls = [("x.csv", rows, "col", values, "rule one", "fix"), ("x.csv", rows[:3] + 1, "col", values, "rule one", "fix"),
             ("x.csv", rows[5:9], "col", None, "rule two", "fix")]
    for cap in (1, 2, 7):
        direct, recorder, replayed = ProblemLog(cap), ProblemRecorder(cap), ProblemLog(cap)
        for arguments in calls:
            direct.add_rows(*arguments)
            recorder.add_rows(*arguments)
        recorder.replay(replayed)
        assert replayed.problems() == direct.problems() and replayed.count() == direct.count() == 50_007
    column, found = np.arange(1_000_000), np.arange(0, 1_000_000, 3)
    gone = weakref.ref(column), weakref.ref(found)
    recorder = ProblemRecorder(5)
    recorder.add_rows("x.csv", found, "col", column, "rule", "fix")
    del column, found
    gc.collect()
    assert gone[0]() is None and gone[1]() is None
    with pytest.raises(AssertionError, match="did not keep"):
        recorder.replay(ProblemLog(6))


def test_an_error_beside_the_groups_cancels_those_not_begun(tmp_path, monkeypatch):
    """A table that fails to load (or Ctrl-C) comes through after the groups running end, not after every
    group queued has run."""
    from formats import rule_groups

    loaded, _ = _loaded_with_problems(tmp_path)
    ran = []
    monkeypatch.setattr(rule_groups.RegisterChecks, "_run", lambda self, loaded, group: (time.sleep(0.2),
                                                                                         ran.append(group)))
    with pytest.raises(OSError, match="the disk went away"):
        with rule_groups.RegisterChecks(frozenset(), frozenset(), threads=2) as checks:
            for name in loaded.tables:
                checks.table_loaded(loaded, name)
            raise OSError("the disk went away")
    assert 0 < len(ran) <= 2  # the two begun; without the cancel, every group whose tables were loaded ran
