"""One export in one call: the pain.001 files, the postal list and manifest.json, all in one folder.

Payment files and the postal list are checked and written first (nothing is written if any payment is refused);
the manifest goes last, so a folder with a manifest is a complete export.
"""
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from bank_exports.files import WrittenFile
from bank_exports.manifest import write_manifest
from bank_exports.pain001 import Pain001Options, write_pain001
from bank_exports.payments import Debtor, as_table
from bank_exports.postal import write_postal_list


@dataclass(frozen=True)
class Export:
    files: list[WrittenFile]      # pain.001 files, then the postal list (if any postal payment)
    assignments: pa.Table         # end_to_end_id, msg_id, pmt_inf_id, channel, amount_minor
    manifest: Path
    manifest_sha256: str


def write_export(payments, out_dir, payroll: str, debtor: Debtor | list[Debtor], options: Pain001Options,
                 extra: dict | None = None) -> Export:
    """Write `<prefix>-B001.xml ...`, `<prefix>-P001.xml ...`, `<prefix>-postal.csv` and manifest.json."""
    table = as_table(payments)
    result = write_pain001(table, out_dir, debtor, options)
    postal = write_postal_list(table, Path(out_dir) / f"{options.msg_id_prefix}-postal.csv", options.currency,
                               options.minor_exponent)
    files = result.files + ([postal] if postal is not None else [])
    manifest, digest = write_manifest(out_dir, payroll, files, {"currency": options.currency, **(extra or {})})
    return Export(files, result.assignments, manifest, digest)
