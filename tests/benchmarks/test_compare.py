"""A tiny run of the side-by-side comparison: every pair at a tiny size, isplata's side always, each peer when its
package is installed (otherwise the test for that peer is skipped, naming the missing package), and the totals
must agree. Also the harness's own machinery: interleaving, medians, workloads, JSON -> README rendering."""
import hashlib
import json

import numpy as np
import pytest
import schwifty

from benchmarks import compare, harness, pairs, workloads
from benchmarks.peers import rowwise_ledger

TINY = compare.SIZES["tiny"]
PEERS = {"entitlements": ("plain-Python reference", "OpenFisca-core"), "pain001": ("sepaxml",),
         "ledger": ("psycopg row-wise COPY + Python SHA-256 chain",)}


@pytest.fixture(scope="module")
def tiny_runs(request) -> dict:
    """Each pair run once at the tiny size (the ledger pair on PostgreSQL, which skips or fails like other
    PostgreSQL tests when the server is unreachable)."""
    runs = {}
    for key in compare.PAIR_KEYS:
        if key == "ledger":
            pg_url = request.getfixturevalue("postgres_url")
        else:
            pg_url = ""
        runs[key] = compare.run_pair(key, TINY, pg_url, reps=1, log=lambda _line: None)
    return runs


def _side(run: dict, name: str) -> dict:
    return next(side for side in run["sides"] if side["name"].startswith(name))


@pytest.mark.parametrize("key", compare.PAIR_KEYS)
def test_isplata_side_runs_and_totals_agree(tiny_runs, key):
    ours = tiny_runs[key]["sides"][0]
    assert ours["skipped"] is None, ours["skipped"]
    assert ours["median_s"] > 0 and len(ours["runs_s"]) == 1
    assert tiny_runs[key]["agreement"]["agree"], tiny_runs[key]["agreement"]


@pytest.mark.parametrize("key,peer", [(key, peer) for key, peers in PEERS.items() for peer in peers])
def test_peer_runs_on_the_same_work(tiny_runs, key, peer):
    side = _side(tiny_runs[key], peer)
    if side["skipped"]:
        pytest.skip(f"{peer}: {side['skipped']}")
    assert side["median_s"] > 0 and side["times_isplata"] > 0
    assert tiny_runs[key]["agreement"]["agree"]


def test_openfisca_drift_is_measured_against_exact_totals(tiny_runs):
    if _side(tiny_runs["entitlements"], "OpenFisca-core")["skipped"]:
        pytest.skip("OpenFisca-core not installed")
    for code, *_ in pairs.RULES:
        row = tiny_runs["entitlements"]["agreement"][code]
        assert row["openfisca_dtype"] == "float32"  # the reason totals drift
        assert row["openfisca_cells_rounded_total_minor"] == row["isplata_total_minor"]
        assert abs(row["openfisca_float32_total_drift_minor"]) < max(row["isplata_total_minor"] // 10**4, 100)


def test_both_pain001_files_are_checked_against_the_xsd(tiny_runs):
    agreement = tiny_runs["pain001"]["agreement"]
    written = [v for v in agreement.values() if isinstance(v, dict) and "valid" in v]
    assert written and all(w["valid"] and w["transactions"] == TINY["payments"] for w in written)


def test_readme_table_renders_every_side(tiny_runs, tmp_path):
    report = {"size": "tiny", "reps": 1, "machine": compare.describe(None), "command": "x",
              "pairs": list(tiny_runs.values())}
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(report))
    markdown = compare.render_readme(json.loads(path.read_text()))
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + sum(len(run["sides"]) for run in tiny_runs.values())
    assert markdown.count("| baseline |") == len(tiny_runs) and "cores" in markdown
    assert "TOTALS DO NOT AGREE" not in compare.format_table(report)


def test_peak_memory_is_measured_in_fresh_processes(tiny_runs):
    summary = json.loads(json.dumps(tiny_runs["pain001"]))
    for side in summary["sides"]:
        side["peak_rss_mib"] = None
    lines = []
    compare.measure_memory(summary, "tiny", "", log=lines.append)
    ran = [side for side in summary["sides"] if not side["skipped"]]
    assert all(side["peak_rss_mib"] is not None and side["peak_rss_mib"] >= 0 for side in ran), lines


# ---- machinery without the parts ---------------------------------------------------------------------------

def test_measure_interleaves_rotates_and_takes_medians(monkeypatch):
    clock, calls = [0.0], []
    monkeypatch.setattr(harness.time, "perf_counter", lambda: clock[0])  # each run advances a fake clock
    monkeypatch.setattr(harness.gc, "collect", lambda: 0)  # a full collection per run is slow in a big test process
    durations = {"a": iter([9.0, 3.0, 1.0, 2.0]), "b": iter([9.0, 1.0, 1.0, 1.0])}

    def runner(name):
        def run():
            calls.append(name)
            clock[0] += next(durations[name])
            return name
        return run
    sides = [harness.Side("a", run=runner("a")), harness.Side("b", run=runner("b")),
             harness.Side("c", skip="not installed"), harness.Side("d", run=lambda: 1 / 0, skip="missing")]
    results = harness.measure(sides, reps=3, log=lambda _line: None)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-ups, then a rotating order
    assert results[0].runs_s == [3.0, 1.0, 2.0] and results[0].median_s == 2.0 and results[1].median_s == 1.0
    assert results[2].runs_s == [] and results[2].skipped == "not installed" and results[3].output is None


def test_reps_max_limits_a_slow_side():
    count = []
    side = harness.Side("slow", run=lambda: count.append(1), warm_up=False, reps_max=1)
    result = harness.measure([side], reps=4, log=lambda _line: None)[0]
    assert len(count) == 1 and len(result.runs_s) == 1


def test_generated_ibans_are_valid():
    payments = workloads.make_payments(500)
    for iban in payments.iban[::7]:
        schwifty.IBAN(str(iban))  # raises on a wrong check digit
    assert len(set(payments.end_to_end_id.tolist())) == 500
    assert max(len(x) for x in payments.end_to_end_id) <= 35


def test_postings_are_balanced_pairs():
    postings = workloads.make_postings(1000, pairs.FIRST_MONTH)
    assert postings.amount_minor.sum() == 0 and (postings.amount_minor[::2] > 0).all()
    assert (postings.right_id[::2] == postings.right_id[1::2]).all()


def test_households_have_consistent_members():
    households = workloads.make_households(1000)
    assert households.size.sum() == households.persons
    heads = households.person_position == 0
    assert heads.sum() == households.households
    assert (np.diff(households.person_household) >= 0).all()
    assert (households.income_eur_minor >= 0).all()


def test_rowwise_chain_links_every_row():
    rows = rowwise_ledger.posting_rows(workloads.make_postings(10, pairs.FIRST_MONTH))
    chained = rowwise_ledger.chain(rows)
    assert chained[0][9] == rowwise_ledger.GENESIS
    for before, after in zip(chained, chained[1:]):
        assert after[9] == before[10]
    row = rows[3]
    body = rowwise_ledger.PACK(*row[:6], row[6].toordinal() - rowwise_ledger.PG_EPOCH_ORDINAL, *row[7:])
    assert chained[3][10] == hashlib.sha256(chained[3][9] + body).digest()


def test_a_missing_peer_package_skips_only_that_side(monkeypatch):
    real = pairs.missing
    monkeypatch.setattr(pairs, "missing", lambda *mods: "x is not installed" if "sepaxml" in mods else real(*mods))
    run = compare.run_pair("pain001", TINY, "", reps=1, log=lambda _line: None)
    ours, peer = run["sides"]
    assert peer["skipped"] == "x is not installed" and peer["median_s"] is None and peer["runs_s"] == []
    assert ours["skipped"] is None and run["agreement"]["agree"]
    assert "skipped: x is not installed" in compare.render_readme(
        {"reps": 1, "machine": compare.describe(None), "pairs": [run]})


def test_missing_module_is_named():
    assert "no_such_package_xyz" in pairs.missing("json", "no_such_package_xyz")
    assert pairs.missing("json") is None
