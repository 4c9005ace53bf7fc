"""`explain`: for every right of a small two-month run (with bank returns, deaths, re-issues, arrears and
recoveries), its figures equal the payroll lines to the minor unit; it reads only recorded inputs and refuses
when they changed; the command prints it, or the same as JSON."""
import json
from collections import defaultdict

import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from cli.main import main
from payroll import cycle, demo, explain, session, store


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("explain")
    return demo.run_demo(rights=250, workdir=work, period="2025-01", seed=4)


def sums(rows, key, value="amount_minor") -> dict:
    totals = defaultdict(int)
    for row in rows:
        totals[key(row)] += row[value]
    return {k: v for k, v in totals.items() if v}


@pytest.mark.parametrize("which", [0, 1])
def test_explain_figures_equal_the_payroll_lines_for_every_right(run, which):
    payroll = run["payrolls"][which]
    record = session.payroll_record(run["db"], payroll)
    lines = store.read_lines(record).to_pylist()
    ledger = cycle.open_db(run["db"])
    try:
        prepared = explain.prepare(ledger, record)
        rights = prepared.arrays.right_ids.tolist()
        assert len(rights) >= 250
        checked = 0
        for right_id in rights:
            result = explain.explain_right(ledger, prepared, right_id)
            mine = [line for line in lines if line["right_id"] == right_id]
            expected = sums((l for l in mine if l["component"] in explain.DIFFERENCE_COMPONENTS),
                            lambda l: (l["month"].isoformat()[:7], l["component"]))
            explained = sums((m for m in result["months"] if m["component"]),
                             lambda m: (m["month"], m["component"]), "difference_minor")
            assert explained == expected, (right_id, result["months"])
            paid = sums((l for l in mine if l["payment_ref"]), lambda l: l["payment_ref"])
            assert {p["payment_ref"]: p["net_minor"] for p in result["payments"] if p["net_minor"]} == paid
            deducted = sums((l for l in mine if l["component"] in ("alimony", "damages", "enforcement", "recovery")),
                            lambda l: l["component"])
            assert sums(result["deductions"], lambda d: d["kind"]) == deducted
            for month in result["months"]:
                if not result["held"] and month["version"] is not None:
                    assert month["due_minor"] - month["recognised_minor"] - month["legacy_paid_minor"] == \
                        month["difference_minor"], (right_id, month)
            checked += bool(mine)
        assert checked > 100
    finally:
        ledger.close()


def test_returned_payment_shows_its_fate_and_the_command_prints_it(run):
    first = run["payrolls"][0]
    record = session.payroll_record(run["db"], first)
    lines = store.read_lines(record)
    ledger = cycle.open_db(run["db"])
    try:
        prepared = explain.prepare(ledger, record)
        fates = [explain.explain_right(ledger, prepared, r)["payments"]
                 for r in sorted(set(lines.filter(pc.is_valid(lines.column("payment_ref"))).column("right_id")
                                     .to_pylist()))[:400]]
    finally:
        ledger.close()
    shown = [p["fate"] for payments in fates for p in payments]
    assert all(f.startswith("sent") for f in shown) and any("returned" in f for f in shown)
    assert any("placed: MD07 — recipient deceased" in f for f in shown)  # the simulated bank returns one MD07
    right = next(p for payments in fates for p in payments if "returned" in p["fate"])
    right_id = next(line["right_id"] for line in lines.to_pylist() if line["payment_ref"] == right["payment_ref"])
    printed = CliRunner().invoke(main, ["--db", run["db"], "explain", str(right_id), "--period", "2025-01"])
    assert printed.exit_code == 0, printed.output
    assert "returned (ledger batch" in printed.output and "months from" in printed.output
    assert "    sources: " in printed.output   # where each parameter value used comes from, with its status
    as_json = CliRunner().invoke(main, ["--db", run["db"], "explain", str(right_id), "--period", "2025-01",
                                        "--payroll", first, "--json"])
    document = json.loads(as_json.stdout)
    assert document["right_id"] == right_id and document["months"] and document["payments"]
    catalogue = prepared.catalogue
    for month in document["months"]:
        for name, used in month["parameters"].items():
            ref, title, status, reason = catalogue.provenance(document["benefit"], name, explain.parse_period(
                month["month"]))
            assert (used["ref"], used["title"], used["status"], used["reason"]) == (
                ref or None, title or None, status, reason or None)
            assert used["status"] in ("confirmed", "reported", "derived", "assumption")
            assert used["ref"] or used["status"] == "assumption"
    assert any(month["parameters"] for month in document["months"])


def test_explain_names_the_source_of_every_value_it_used():
    from formats.catalogue import load_catalogue

    me = load_catalogue()
    used = explain.parameters_in_force(me, me.benefit("ME_MO"), explain.dt.date(2024, 3, 1))
    assert used["base_by_size"]["status"] == "confirmed" and "me.propisi.net" in used["base_by_size"]["ref"]
    used = explain.parameters_in_force(me, me.benefit("ME_MO"), explain.dt.date(2024, 7, 1))
    assert (used["base_by_size"]["ref"], used["base_by_size"]["status"]) == ("shared/RULES.md", "reported")
    assert explain.sources_text(used) == "base_by_size: reported, shared/RULES.md"
    ua = load_catalogue(country="ua")
    used = explain.parameters_in_force(ua, ua.benefit("UA_DSD"), explain.dt.date(2026, 1, 1))
    assert used["subsistence_disabled"]["values"] == [259500]
    assert "base ua_pm_lost_capacity 2595.00 from 2026-01" in explain.sources_text(used)


def test_explain_refuses_changed_inputs_and_unknown_rights(run, tmp_path):
    db = run["db"]
    missing = CliRunner().invoke(main, ["--db", db, "explain", "999999999", "--period", "2025-01", "--json"])
    assert missing.exit_code == 2 and "not in the register" in json.loads(missing.stdout)["error"]
    record = session.payroll_record(db, run["payrolls"][1])
    rights = next(p for p in __import__("pathlib").Path(record.data_folder).iterdir() if p.name.startswith("rights"))
    original = rights.read_bytes()
    try:
        rights.write_bytes(original + b"\0")
        changed = CliRunner().invoke(main, ["--db", db, "explain", "1", "--period", "2025-02"])
        assert changed.exit_code == 2 and "cannot be explained from its recorded inputs" in changed.stderr
        assert "was altered" in changed.stderr
    finally:
        rights.write_bytes(original)



def test_explain_counts_each_member_in_the_category_of_their_age(run):
    """explain puts each counted member in the category of their age in the month, as the engine counts them
    (it once passed the member's role where the month goes: every member came out a child)."""
    record = session.payroll_record(run["db"], run["payrolls"][0])
    ledger = cycle.open_db(run["db"])
    seen = defaultdict(int)
    try:
        prepared = explain.prepare(ledger, record)
        for right_id in prepared.arrays.right_ids.tolist()[:150]:
            for month in explain.explain_right(ledger, prepared, right_id)["months"]:
                for member in (m for m in month.get("members") or [] if m["counted"]):
                    year, number = int(month["month"][:4]), int(month["month"][5:7])
                    months_old = (year - int(member["born"][:4])) * 12 + number - int(member["born"][5:7])
                    is_child = explain.CATEGORIES[1] in member["categories"]
                    if months_old >= 12 * 30:
                        assert not is_child, (right_id, month["month"], member)
                        seen["adult"] += 1
                    elif months_old < 12 * 10:
                        assert is_child, (right_id, month["month"], member)
                        seen["child"] += 1
    finally:
        ledger.close()
    assert seen["adult"] > 0 and seen["child"] > 0, seen


def test_parameters_are_shown_in_their_units_not_as_money():
    """Years, days and counts are numbers; basis points are percents; amounts are in currency units."""
    from payroll.explain import parameter_text

    assert parameter_text("advance_band_limits_years", [6, 14], 2) == "6 / 14"
    assert parameter_text("period_days_allowed", [126, 140], 2) == "126 / 140"
    assert parameter_text("days_per_month", [30], 2) == "30"
    assert parameter_text("max_children", [4], 2) == "4"
    assert parameter_text("instalment_count_by_order", [1, 3], 2) == "1 / 3"
    assert parameter_text("amount", [12345], 2) == "123.45"
