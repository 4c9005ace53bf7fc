"""A real export validates every pain.001 file against the XSD by default; a file that fails leaves nothing in
the export folder and nothing in the ledger, and the export then runs again as if it had never been tried."""
from pathlib import Path

import pytest

from bank_exports import pain001
from bank_exports.files import sha256_of
from bank_exports.xsd import SchemaViolation, assert_valid
from ledgers.store import Ledger
from payroll import cycle
from synthetic.register import generate_register


def test_export_validates_each_file_and_an_invalid_one_changes_nothing(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    generate_register(tmp_path / "reg", 300, 5, "2025-01")
    payroll = cycle.calculate(db, tmp_path / "reg", "2025-01", "ana", store_dir=tmp_path / "store")["payroll"]
    cycle.approve(db, payroll, "marko")
    checked = []

    def broken(path):
        checked.append(Path(path).name)
        raise SchemaViolation(f"{Path(path).name}:1: pretend the writer broke the schema")

    monkeypatch.setattr(pain001, "assert_valid", broken)
    with pytest.raises(SchemaViolation):
        cycle.export(db, payroll, tmp_path / "out")
    assert checked and all(name.endswith(".xml.part") for name in checked)
    assert not any((tmp_path / "out").iterdir()), "no file may stay after a failed validation"
    with Ledger(db) as ledger:
        assert ledger.find_batch("export", payroll) is None
        assert not [e for e in ledger.events(subject=payroll) if e["kind"] == "exported"]

    checked.clear()
    monkeypatch.setattr(pain001, "assert_valid", lambda path: (checked.append(Path(path).name), assert_valid(path)))
    manifest = cycle.export(db, payroll, tmp_path / "out")
    xml = [f for f in manifest["files"] if f["name"].endswith(".xml")]
    assert sorted(checked) == sorted(f"{f['name']}.part" for f in xml)  # every pain.001 file, each once
    assert manifest["new_postings"] is True
    again = cycle.export(db, payroll, tmp_path / "again")
    assert again["new_postings"] is False
    for entry in manifest["files"]:
        assert sha256_of(tmp_path / "again" / entry["name"]) == entry["sha256"]  # byte-identical when repeated


def test_a_refused_payment_leaves_no_postal_list_though_it_is_written_beside_the_checks(tmp_path, monkeypatch):
    """start_files writes the postal list on a second thread while the payments are checked: a refusal there
    removes it, so nothing is left in the folder."""
    import datetime as dt
    import time

    from formats.errors import InputError, Problem
    from payroll import payment_export, store

    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    generate_register(tmp_path / "reg", 300, 5, "2025-01")
    payroll = cycle.calculate(db, tmp_path / "reg", "2025-01", "ana", store_dir=tmp_path / "store")["payroll"]
    with Ledger(db) as ledger, ledger.engine.connect() as conn:
        record = store.get_payroll(conn, payroll)
    folder = tmp_path / "files"
    postal = folder / payment_export.POSTAL_LIST_NAME.format(payroll=payroll)
    seen = []

    def refused(*args, **kwargs):  # refuses once the postal list is there (written on the other thread)
        deadline = time.monotonic() + 30
        while not postal.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(postal.exists())
        raise InputError([Problem("payments", 1, "iban", "x", "invalid IBAN", "correct it")])

    monkeypatch.setattr(pain001, "start_pain001", refused)
    with pytest.raises(InputError):
        payment_export.start_files(record, folder, dt.datetime(2025, 2, 1))
    assert seen == [True], "the postal list was written beside the checks"
    assert not any(folder.iterdir()), "a refused export leaves no postal list"
