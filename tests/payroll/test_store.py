"""Payroll storage: where lines live, the recorded digests, and refusals that protect them."""
import pyarrow.parquet as pq
import pytest

from formats.generator import generate_register
from payroll import cycle, store
from payroll.errors import Refused


def test_default_store_sits_next_to_a_sqlite_database(monkeypatch, tmp_path):
    monkeypatch.delenv("ISPLATA_STORE", raising=False)
    assert store.default_store(f"sqlite:///{tmp_path}/ledger.db") == tmp_path / "ledger-payrolls"
    assert store.default_store("postgresql+psycopg://db/x").name == "isplata-payrolls"
    monkeypatch.setenv("ISPLATA_STORE", str(tmp_path / "elsewhere"))
    assert store.default_store("sqlite:///x.db") == tmp_path / "elsewhere"


def test_a_draft_records_its_inputs_and_refuses_tampered_lines(tmp_path):
    generate_register(tmp_path / "reg", 120, 4, "2025-03")
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    summary = cycle.calculate(db, tmp_path / "reg", "2025-03", "ana")
    with cycle.open_db(db).engine.connect() as conn:
        record = store.get_payroll(conn, summary["payroll"])
    assert record.lines_path.parent == tmp_path / "ledger-payrolls" / summary["payroll"]
    assert set(record.input_sha256) == {f"{name}.parquet" for name in
                                        ("persons", "households", "rights", "payees", "deductions")}
    assert len(record.catalogue_sha256) == 64 and record.created_by == "ana"
    lines = pq.read_table(record.lines_path)
    pq.write_table(lines.slice(1), record.lines_path)
    with pytest.raises(Refused, match="altered"):
        cycle.approve(db, summary["payroll"], "marko")
    with pytest.raises(Refused, match="no payroll"):
        cycle.approve(db, "ME-202503-09", "marko")


def test_a_store_folder_of_another_database_is_not_overwritten(tmp_path):
    generate_register(tmp_path / "reg", 60, 4, "2025-03")
    (tmp_path / "store" / "ME-202503-01").mkdir(parents=True)
    cycle.open_db(f"sqlite:///{tmp_path / 'a.db'}", create=True).close()
    with pytest.raises(Refused, match="another database"):
        cycle.calculate(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "reg", "2025-03", "ana",
                        store_dir=tmp_path / "store")


def test_written_table_hash_is_the_hash_of_the_file_and_repeats(tmp_path):
    import pyarrow as pa

    table = pa.table({"a": list(range(50_000)), "b": [f"x{i % 97}" for i in range(50_000)]})
    first = store.write_table(table, tmp_path / "one.parquet")
    again = store.write_table(table, tmp_path / "two.parquet")
    assert first == again == store.sha256_file(tmp_path / "one.parquet") == store.sha256_file(tmp_path / "two.parquet")
    assert pq.read_table(tmp_path / "one.parquet").equals(table)
    assert not list(tmp_path.glob("*.tmp"))
