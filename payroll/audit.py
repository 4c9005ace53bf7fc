"""Audit recompute: a posted payroll recomputed from its recorded inputs and compared with the ledger.

The register files and the catalogue must still hash as recorded at calculation; the computation runs again on
the ledger state the calculation saw (its batch mark and hold mark), and the approval batch it would post is
compared with the batch in the ledger, summed per account, key, right, payee, month and component, to the
minor unit. The records around the ledger are checked as `ledger verify` does (the event chain, the payrolls and
holds tables against their chained copies, the approval batch's commitment to the payroll's row). Any difference
(an altered file, a changed catalogue, a posting that does not match, an edited record) is listed and `ok` is
false, which the command line turns into exit code 1.
"""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.catalogue import load_catalogue
from formats.errors import InputError
from formats.register import register_file_digests
from formats.i18n import N_
from engine.months import parse_period
from ledgers.verify import record_findings
from payroll import compute as computing
from payroll import postings, session, store
from payroll.errors import Refused

KEY_COLUMNS = ("account_kind", "account_key", "right_id", "payee_id", "month", "component")
DIFFERENCES_MAX = 200


def recompute(db_url: str, identifier: str, progress=session.noop) -> dict:
    ledger = session.open_db(db_url)
    try:
        with ledger.engine.connect() as conn:
            record = store.get_payroll(conn, identifier)
        status = session.status_of(ledger, identifier)["status"]
        if status not in session.POSTED_STATUSES:
            raise Refused(N_("{identifier} is {value}: nothing of it is in the ledger to compare with; approve it "
                             "first", identifier=identifier, value='a draft' if status == 'draft' else status))
        progress(N_("checking the recorded inputs"))
        differences = input_differences(record)
        catalogue = load_catalogue(record.catalogue_path) if Path(record.catalogue_path).exists() else None
        if catalogue is None:
            differences.append(f"catalogue {record.catalogue_path} is missing")
        elif catalogue.sha256 != record.catalogue_sha256:
            differences.append(f"catalogue {record.catalogue_path} changed: sha256 {catalogue.sha256} "
                               f"!= recorded {record.catalogue_sha256}")
        compared = {"lines": 0, "postings": 0}
        if catalogue is not None:
            progress(N_("recomputing the payroll"))
            compared = compare_with_ledger(ledger, record, catalogue, differences)
        progress(N_("checking the records around the ledger"))
        differences += [f"record: {finding}" for finding in record_findings(ledger)]
        software = software_of(ledger, identifier)
    finally:
        ledger.close()
    result = {"payroll": identifier, "ok": not differences, "differences": differences[:DIFFERENCES_MAX],
              "difference_count": len(differences), **compared, **software}
    if differences and software["calculated_with"] not in (None, software["recomputed_with"]):
        result["note"] = (f"calculated with {software['calculated_with']}, recomputed with "
                          f"{software['recomputed_with']}: a change of version may explain the differences")
    return result


def software_of(ledger, identifier: str) -> dict:
    """The versions recorded with the calculation (None for a payroll calculated before they were recorded)
    and the versions recomputing it now."""
    calculated = ledger.events(subject=identifier, kind="calculated")
    recorded = calculated[-1]["payload"].get("software") if calculated else None
    return {"calculated_with": recorded, "recomputed_with": session.software_versions()}


def input_differences(record: store.PayrollRecord) -> list[str]:
    found = register_file_digests(record.data_folder) if Path(record.data_folder).is_dir() else {}
    differences = []
    for name, digest in sorted(record.input_sha256.items()):
        if name not in found:
            differences.append(f"input file {name} is missing from {record.data_folder}")
        elif found[name] != digest:
            differences.append(f"input file {name} was altered: sha256 {found[name]} != recorded {digest}")
    for name in sorted(set(found) - set(record.input_sha256)):
        differences.append(f"input file {name} was added to {record.data_folder} after the calculation")
    return differences


def compare_with_ledger(ledger, record: store.PayrollRecord, catalogue, differences: list) -> dict:
    period = parse_period(record.period)
    try:
        inputs = session.load_inputs(ledger, record.data_folder, catalogue, period, record.batch_mark,
                                   record.hold_mark)
    except InputError as exc:
        differences.append(f"the recorded register no longer validates: {exc.problems[0].render()}")
        return {"lines": 0, "postings": 0}
    result = computing.compute(record.payroll_id, inputs)
    stored = store.read_lines(record, verify=False)
    if not result.lines.equals(stored):
        differences.append(f"recomputed lines differ from the stored lines ({result.lines.num_rows} vs "
                           f"{stored.num_rows} rows, net {result.summary['net_minor']} vs {record.net_minor})")
    benefits = session.distinct_strings(result.lines.column("benefit"))
    codes = ledger.benefit_codes(benefits) if benefits else {}
    expected = postings.approve_postings(result.lines, result.orders, codes)
    batch = ledger.find_batch("approve", record.payroll_id)
    actual = ledger.read_postings(batch.first_posting, batch.n_postings) if batch else None
    differences += posting_differences(expected, actual)
    return {"lines": result.lines.num_rows, "postings": int(expected["amount_minor"].shape[0])}


def aggregate(columns: dict | None) -> pa.Table:
    if columns is None or len(columns["amount_minor"]) == 0:
        return pa.table({**{name: pa.array([], pa.int64()) for name in KEY_COLUMNS},
                         "amount_minor_sum": pa.array([], pa.int64())})
    table = pa.table({name: pa.array(np.asarray(columns[name], np.int64)) for name in KEY_COLUMNS + ("amount_minor",)})
    return table.group_by(list(KEY_COLUMNS)).aggregate([("amount_minor", "sum")])


def posting_differences(expected: dict, actual: dict | None) -> list[str]:
    """Per (account, key, right, payee, month, component) sums that differ between recomputed and posted."""
    left, right = aggregate(expected), aggregate(actual)
    joined = left.join(right, keys=list(KEY_COLUMNS), join_type="full outer", left_suffix="_recomputed",
                       right_suffix="_ledger")
    recomputed = pc.fill_null(joined.column("amount_minor_sum_recomputed"), 0).to_numpy()
    posted = pc.fill_null(joined.column("amount_minor_sum_ledger"), 0).to_numpy()
    bad = np.flatnonzero(recomputed != posted)
    rows = joined.take(pa.array(bad[:DIFFERENCES_MAX])).to_pylist() if bad.shape[0] else []
    return [f"posting {', '.join(f'{k}={row[k]}' for k in KEY_COLUMNS)}: recomputed "
            f"{row['amount_minor_sum_recomputed'] or 0}, ledger {row['amount_minor_sum_ledger'] or 0}"
            for row in rows]
