"""The remittance text of each payment: what the money is, in the country's language — the benefit name(s) of
the catalogue and the month ("Materijalno obezbjeđenje za 09/2024"; "... за 09/2024"). The payment file's writer
transliterates it to the file's character set and cuts it at a word boundary within 140 characters (the EPC /
ISO limit). Built at export from two columns of the payroll's lines, column-wise."""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.months import month_first_date, parse_period
from payroll import postings, store

FOR_MONTH = {"me": "za", "rs": "za", "ua": "за"}  # "for <month>" in the catalogue country's language


def remittance_column(record: store.PayrollRecord, catalogue, end_to_end_ids) -> pa.Array:
    """One text per payment, in the order of end_to_end_ids: its benefits' names in the order of the payment's
    lines (each benefit once, a code of no catalogue as itself), then 'za MM/YYYY'.

    Column-wise with numpy: per payment the sequence of its benefits as one row of codes, a text per distinct
    sequence (a few hundred at most), gathered per payment."""
    month = month_first_date(parse_period(record.period)).strftime("%m/%Y")
    tail = f" {FOR_MONTH.get(catalogue.country.lower(), 'za')} {month}"
    lines = store.read_lines(record, columns=["payment_ref", "benefit"])
    codes = [benefit.code for benefit in catalogue.benefits]
    names = [benefit.name for benefit in catalogue.benefits]
    known = set(codes)
    others = sorted(code for code in pc.unique(lines.column("benefit")).to_pylist() if code not in known
                    and code is not None)
    codes, names = codes + others, names + others
    refs = postings.refs_of(lines.column("payment_ref"))
    benefit = postings.name_codes(lines.column("benefit"), codes)
    paid = refs != b""
    refs, benefit = refs[paid], benefit[paid]
    if refs.shape[0] and not (refs[1:] >= refs[:-1]).all():  # calculate writes them sorted by payment
        order = np.argsort(refs, kind="stable")
        refs, benefit = refs[order], benefit[order]
    wanted = postings.refs_of(end_to_end_ids)
    if refs.shape[0] == 0:
        return pa.array([f"{record.payroll_id}{tail}"] * wanted.shape[0], pa.string())
    new = np.r_[True, refs[1:] != refs[:-1]]
    per_payment = _texts_per_payment(np.cumsum(new) - 1, benefit, names, tail)
    unique_refs = refs[new]
    if np.array_equal(unique_refs, wanted):  # the payments in the lines' order (as calculate writes them)
        return per_payment
    at = np.minimum(np.searchsorted(unique_refs, wanted), unique_refs.shape[0] - 1)
    found = unique_refs[at] == wanted
    return pc.fill_null(pc.take(per_payment, pa.array(at, pa.int64(), mask=~found)), f"{record.payroll_id}{tail}")


def _texts_per_payment(payment: np.ndarray, benefit: np.ndarray, names: list[str], tail: str) -> pa.Array:
    """payment: 0, 0, 1, 2, 2, ... (ascending, every index present) per line; benefit: its code per line."""
    key = payment * (len(names) + 1) + benefit
    order = np.argsort(key, kind="stable")
    firsts = np.sort(order[np.r_[True, key[order][1:] != key[order][:-1]]])  # each benefit's first line
    starts = np.flatnonzero(np.r_[True, payment[firsts][1:] != payment[firsts][:-1]])
    position = np.arange(firsts.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, firsts.shape[0]]))
    width = int(position.max()) + 1
    sequence = np.full((starts.shape[0], width), -1, np.int16)
    sequence[payment[firsts], position] = benefit[firsts]
    rows = np.ascontiguousarray(sequence).view(np.dtype((np.void, 2 * width))).ravel()
    combos, inverse = np.unique(rows, return_inverse=True)
    words = [", ".join(names[b] for b in np.frombuffer(c.tobytes(), np.int16) if b >= 0) + tail for c in combos]
    return pc.take(pa.array(words, pa.string()), pa.array(inverse.ravel(), pa.int64()))
