"""A whole export: pain.001 files, postal list and manifest.json in DESIGN.md's form; golden with a fixed clock."""
import csv
import json
import os
from pathlib import Path

import pyarrow as pa

from bank_exports.export_bundle import write_export
from bank_exports.files import sha256_of
from bank_exports.manifest import manifest_document
from bank_exports.postal import COLUMNS, write_postal_list
from synthetic.payments import synthetic_payments

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "iso20022" / "golden" / "export"
REGENERATE = os.environ.get("ISPLATA_REGEN_GOLDEN") == "1"
CONTRACT_KEYS = ["name", "sha256", "msg_id", "channel", "currency", "nb_of_txs", "ctrl_sum_minor"]


def test_manifest_lists_every_file_with_digest_and_totals(out_dir, debtor, options):
    payments = synthetic_payments(200, seed=11)
    export = write_export(payments, out_dir, "ME-2026-05-R1", debtor, options)
    manifest = json.loads(export.manifest.read_text(encoding="utf-8"))
    assert list(manifest)[:4] == ["payroll", "files", "payments", "ctrl_sum_minor"]
    assert manifest["payroll"] == "ME-2026-05-R1" and manifest["currency"] == "EUR"
    assert [f["name"] for f in manifest["files"]] == ["ME-202605-R1-B001.xml", "ME-202605-R1-P001.xml",
                                                      "ME-202605-R1-postal.csv"]
    for entry in manifest["files"]:
        assert list(entry)[:7] == CONTRACT_KEYS
        assert entry["sha256"] == sha256_of(out_dir / entry["name"])
    assert manifest["payments"] == 200
    assert manifest["ctrl_sum_minor"] == sum(payments["amount_minor"].to_pylist())
    postal = manifest["files"][2]
    assert (postal["msg_id"], postal["channel"], postal["kind"]) == (None, "post", "postal-list")
    assert postal["nb_of_txs"] == manifest["files"][1]["nb_of_txs"] == 40
    assert postal["ctrl_sum_minor"] == manifest["files"][1]["ctrl_sum_minor"]
    assert export.manifest_sha256 == sha256_of(export.manifest)


def test_postal_list_holds_what_the_post_needs_in_utf8(tmp_path):
    payments = synthetic_payments(10, post_share=0.5, seed=1)
    written = write_postal_list(payments, tmp_path / "postal.csv", "EUR")
    with open(tmp_path / "postal.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(COLUMNS)
    post = payments.filter(pa.compute.equal(payments["channel"], "post"))
    assert [row["payment_reference"] for row in rows] == post["end_to_end_id"].to_pylist()
    assert [row["surname"] for row in rows] == post["family_name"].to_pylist()  # original script kept
    assert [row["town"] for row in rows] == post["town"].to_pylist()
    assert sum(int(row["amount"].replace(".", "")) for row in rows) == written.ctrl_sum_minor
    assert written.nb_of_txs == 5
    assert write_postal_list(payments.slice(0, 5), tmp_path / "none.csv", "EUR") is None
    assert not (tmp_path / "none.csv").exists()


def test_manifest_totals_count_payment_files_only(debtor):
    document = manifest_document("P", [], {"note": "empty"})
    assert document == {"payroll": "P", "files": [], "payments": 0, "ctrl_sum_minor": 0, "note": "empty"}


def test_export_is_byte_identical_and_matches_golden(out_dir, tmp_path, debtor, options):
    payments = synthetic_payments(12, seed=21)
    first = write_export(payments, out_dir / "one", "ME-2026-05-R1", debtor, options)
    again = write_export(payments, tmp_path / "two", "ME-2026-05-R1", debtor, options)
    names = [f.name for f in first.files] + ["manifest.json"]
    assert [f.sha256 for f in first.files] == [f.sha256 for f in again.files]
    assert first.manifest_sha256 == again.manifest_sha256
    for name in names:
        if REGENERATE:
            GOLDEN.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes((out_dir / "one" / name).read_bytes())
        assert (out_dir / "one" / name).read_bytes() == (GOLDEN / name).read_bytes(), name
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(names)


def test_payments_in_several_chunks_are_written_as_in_one_and_kept_in_their_chunks(tmp_path, debtor, options):
    """A national payroll's payments come from Parquet in one chunk per row group: as_table keeps the chunks (no
    copy of every column) and every file, the manifest and the assignments are those of the same payments in one
    chunk."""
    from bank_exports.payments import as_table

    whole = synthetic_payments(300, seed=5)
    chunked = pa.Table.from_batches(whole.to_batches(max_chunksize=70))
    assert as_table(chunked).column("name").num_chunks == 5
    exports = {}
    for label, payments in (("whole", whole), ("chunked", chunked)):
        folder = tmp_path / label
        folder.mkdir()
        exports[label] = (folder, write_export(payments, folder, "ME-2026-05-R1", debtor, options))
    (one, first), (several, second) = exports["whole"], exports["chunked"]
    assert [f.name for f in first.files] == [f.name for f in second.files]
    for file in first.files + [first.manifest]:
        assert (one / file.name).read_bytes() == (several / file.name).read_bytes(), file.name
    assert first.assignments.equals(second.assignments)
