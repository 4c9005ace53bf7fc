"""manifest.json of an export: every file with its SHA-256, message id, channel, currency, NbOfTxs and CtrlSum,
and the totals, in the form DESIGN.md fixes (`{"payroll", "files": [...], "payments", "ctrl_sum_minor"}`).

The totals count the pain.001 files only: the postal list repeats the postal payments already carried by the
CHK file, so counting it too would pay them twice on paper.
"""
import json
from pathlib import Path

from bank_exports.files import HashingWriter, WrittenFile
from bank_exports.pain001 import MESSAGE

MANIFEST_NAME = "manifest.json"


def manifest_document(payroll: str, files: list[WrittenFile], extra: dict | None = None) -> dict:
    payment_files = [file for file in files if file.kind == MESSAGE]
    document = {
        "payroll": payroll,
        "files": [file.manifest_entry() for file in files],
        "payments": sum(file.nb_of_txs for file in payment_files),
        "ctrl_sum_minor": sum(file.ctrl_sum_minor for file in payment_files),
    }
    for key, value in (extra or {}).items():
        assert key not in document, f"extra key {key!r} would replace a contract key"
        document[key] = value
    return document


def write_manifest(out_dir, payroll: str, files: list[WrittenFile], extra: dict | None = None) -> tuple[Path, str]:
    """Write out_dir/manifest.json (stable key order, UTF-8, newline at the end); returns (path, sha256)."""
    path = Path(out_dir) / MANIFEST_NAME
    text = json.dumps(manifest_document(payroll, files, extra), indent=2, ensure_ascii=False) + "\n"
    out = HashingWriter(path)
    try:
        out.write_text(text)
        digest = out.close()
    except BaseException:
        out.discard()
        raise
    out.commit()
    return path, digest
