"""Reconcile and export defects found in acceptance, driven through the CLI on the hand-made register of
tests/acceptance: a bad file among good ones posts nothing; unresolved exceptions stay exceptions on a re-run
and the exceptions report is never stale; a creditor's returned payment is re-issued although the debtor's bank
channel is held; `export --json` carries manifest.json's keys (with each file's kind)."""
import csv
import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from acceptance.test_contracts import BOMB, CAMT054_V08, Cli, export_september
from tests.payroll.test_legacy_baseline import assert_state_equals_scans

NEXT_PAYROLL = "ME-202410-01"
EXCEPTIONS = "reconcile-exceptions.csv"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One calculated, approved and exported September payroll of the hand-made register."""
    root = tmp_path_factory.mktemp("fixes")
    _cli, reg, export = export_september(root)
    return dict(root=root, reg=reg, export=export, lines=pq.read_table(root / "lines.parquet"))


@pytest.fixture()
def work(exported, tmp_path, monkeypatch):
    """A private copy of the exported database, so tests do not disturb each other."""
    db = tmp_path / "isplata.db"
    db.write_bytes((exported["root"] / "isplata.db").read_bytes())
    monkeypatch.chdir(tmp_path)  # reconcile writes its outputs to the working directory, never next to a return
    return Cli(db), tmp_path


def camt054(entries: list[tuple[str, int, str]], msg: str = "BANK-R1") -> str:
    """A camt.054 with one returned entry per (EndToEndId, amount in cents, reason)."""
    head, rest = CAMT054_V08.split("<Ntry>", 1)
    entry, tail = rest.split("</Ntry>", 1)
    body = "".join("<Ntry>" + entry.format(ref=ref, amount=f"{cents // 100}.{cents % 100:02d}", reason=reason)
                   + "</Ntry>" for ref, cents, reason in entries)
    return head.format(msg=msg) + body + tail


def payment_of(lines, payee: int) -> tuple[str, int]:
    """(EndToEndId, net in cents) of the payment to one payee."""
    mine = lines.filter(pc.equal(lines.column("payee_id"), payee))
    refs = set(mine.column("payment_ref").to_pylist())
    assert len(refs) == 1, refs
    return refs.pop(), int(pc.sum(mine.column("amount_minor")).as_py())


def output_of(folder, stem: str, kind: str = EXCEPTIONS):
    """The one output of kind `kind` reconcile wrote for the returns file <stem>.xml (named after it)."""
    found = list(folder.glob(f"{stem}-*-{kind}"))
    assert len(found) <= 1, found
    return found[0] if found else None


def exception_rows(folder, stem: str) -> list[dict]:
    with open(output_of(folder, stem), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_bad_file_after_a_good_one_posts_nothing(work, exported):
    cli, folder = work
    ref, cents = payment_of(exported["lines"], 3)
    (folder / "good.xml").write_text(camt054([(ref, cents, "AC04")]))
    (folder / "bomb.xml").write_text(BOMB)
    before = cli.json("ledger", "verify")
    out = cli("reconcile", folder / "good.xml", folder / "bomb.xml", code=2).output
    assert "bomb.xml" in out
    assert cli.json("ledger", "verify") == before
    assert output_of(folder, "good") is None and output_of(folder, "good", "register-actions.csv") is None
    # the good file was not marked as seen: reconciled alone it now posts its return
    alone = cli.json("reconcile", folder / "good.xml")
    assert (alone["matched"], alone["already_seen"], alone["returned_minor"]) == (1, 0, cents)


def test_rerun_keeps_exceptions_and_posts_nothing_twice(work, exported):
    cli, folder = work
    ref, cents = payment_of(exported["lines"], 3)
    (folder / "mixed.xml").write_text(camt054([(ref, cents, "MS03"), ("ME-202409-01-0009999", 1000, "AC01")]))
    first = cli.json("reconcile", folder / "mixed.xml", code=1)
    assert (first["records"], first["matched"], first["unmatched"], first["already_seen"]) == (2, 1, 1, 0)
    postings = cli.json("ledger", "verify")["postings"]
    output_of(folder, "mixed").unlink()
    again = " ".join(cli("reconcile", folder / "mixed.xml", code=1).output.split())  # rich wraps at 80
    assert "mixed.xml was already reconciled at 20" in again and "nothing posted again" in again
    second = cli.json("reconcile", folder / "mixed.xml", code=1)
    assert (second["records"], second["matched"], second["unmatched"], second["already_seen"]) == (2, 0, 1, 1)
    assert second["returned_minor"] == 0
    assert cli.json("ledger", "verify")["postings"] == postings
    assert [row["reference"] for row in exception_rows(folder, "mixed")] == ["ME-202409-01-0009999"]


def test_outputs_are_per_returns_file_and_never_overwritten_by_another(work, exported):
    cli, folder = work
    (folder / "unknown.xml").write_text(camt054([("ME-202409-01-0009999", 1000, "AC01")], msg="BANK-U"))
    cli.json("reconcile", folder / "unknown.xml", code=1)
    assert len(exception_rows(folder, "unknown")) == 1
    ref, cents = payment_of(exported["lines"], 3)
    (folder / "good.xml").write_text(camt054([(ref, cents, "AC04")]))
    clean = cli.json("reconcile", folder / "good.xml")
    assert clean["unmatched"] == 0
    assert exception_rows(folder, "good") == []  # its own report, header only
    assert len(exception_rows(folder, "unknown")) == 1  # the earlier file's report is untouched
    with open(output_of(folder, "good", "register-actions.csv"), newline="", encoding="utf-8") as handle:
        assert [row["action"] for row in csv.DictReader(handle)] == ["new_account_needed"]
    assert output_of(folder, "unknown", "register-actions.csv").read_text().count("\n") == 1  # header only


def test_creditor_reissued_while_the_debtors_bank_channel_is_held(work, exported):
    cli, folder = work
    debtor_ref, debtor_cents = payment_of(exported["lines"], 3)      # Marko, the debtor (right 3)
    creditor_ref, creditor_cents = payment_of(exported["lines"], 12)  # enforcement officer's forwarded deduction
    (folder / "ret.xml").write_text(camt054([(debtor_ref, debtor_cents, "AC04"),
                                             (creditor_ref, creditor_cents, "MS03")]))
    cli.json("reconcile", folder / "ret.xml")
    cli.json("calculate", "--data", exported["reg"], "--period", "2024-10", "--by", "ana")
    cli("payroll", "lines", NEXT_PAYROLL, "--out", folder / "next.parquet")
    lines = pq.read_table(folder / "next.parquet")
    reissue = lines.filter(pc.equal(lines.column("component"), "reissue"))
    by_payee = dict(zip(reissue.column("payee_id").to_pylist(), reissue.column("amount_minor").to_pylist()))
    assert by_payee.get(12) == creditor_cents
    assert 3 not in by_payee  # the debtor's own re-issue waits for a new account (no postal address)
    assert_state_equals_scans(f"sqlite:///{folder / 'isplata.db'}")  # returned payments awaiting re-issue


def test_export_json_carries_manifest_keys_and_counts_payment_files_only(exported):
    printed = exported["export"]
    manifest = json.loads((exported["root"] / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert printed == manifest
    assert {"payroll", "files", "payments", "ctrl_sum_minor"} <= set(printed)
    kinds = {entry["kind"] for entry in printed["files"]}
    assert kinds == {"pain.001.001.09", "postal-list"}
    payment_files = [entry for entry in printed["files"] if entry["kind"] == "pain.001.001.09"]
    assert printed["payments"] == sum(entry["nb_of_txs"] for entry in payment_files)
    assert printed["ctrl_sum_minor"] == sum(entry["ctrl_sum_minor"] for entry in payment_files)
    assert printed["ctrl_sum_minor"] < sum(entry["ctrl_sum_minor"] for entry in printed["files"])
