"""The remittance text of each payment: what the money is, in the country's language — the benefit name(s) of
the catalogue and the month ("Materijalno obezbjeđenje za 09/2024"; "... за 09/2024"). The payment file's writer
transliterates it to the file's character set and cuts it at a word boundary within 140 characters (the EPC /
ISO limit). Built at export from two columns of the payroll's lines, column-wise."""
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports.text import transliteration_of
from engine.months import month_first_date, parse_period
from payroll import postings, store

FOR_MONTH = {"me": "za", "rs": "za", "ua": "за"}  # "for <month>" in the catalogue country's language


def remittance_column(record: store.PayrollRecord, catalogue, end_to_end_ids) -> pa.Array:
    """One text per payment, in the order of end_to_end_ids: its benefits' names in the order of the payment's
    lines (each benefit once, a code of no catalogue as itself), then 'za MM/YYYY'.

    Column-wise with numpy: per payment the sequence of its benefits as one row of codes, a text per distinct
    sequence (a few hundred at most), gathered per payment."""
    return remittance_texts(record, catalogue).column_for(end_to_end_ids)


class RemittanceTexts(NamedTuple):
    """The text of every paid reference of a payroll's lines, before the payments are known: export builds it on
    a second thread while it reads the payments, and `column_for` puts it in the payments' order."""
    refs: np.ndarray             # the distinct payment references of the lines, ascending (S35)
    per_payment: pa.DictionaryArray | None  # the text of each of refs (None: no line is on a payment)
    fallback: str                 # the text of a payment none of the lines names

    def column_for(self, end_to_end_ids) -> pa.DictionaryArray:
        """The text of each payment as a dictionary of the distinct texts (a few hundred for millions of
        payments: the payment file's writer cleans each once, and no string is copied per payment)."""
        wanted = postings.refs_of(end_to_end_ids)
        if self.per_payment is None:
            return pa.DictionaryArray.from_arrays(pa.array(np.zeros(wanted.shape[0], np.int32)),
                                                  pa.array([self.fallback], pa.string()))
        if np.array_equal(self.refs, wanted):  # the payments in the lines' order (as calculate writes them)
            return self.per_payment
        at = np.minimum(np.searchsorted(self.refs, wanted), self.refs.shape[0] - 1)
        found = self.refs[at] == wanted
        texts = pa.concat_arrays([self.per_payment.dictionary, pa.array([self.fallback], pa.string())])
        indices = np.where(found, self.per_payment.indices.to_numpy()[at], len(texts) - 1).astype(np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(indices), texts)


def remittance_texts(record: store.PayrollRecord, catalogue) -> RemittanceTexts:
    """The texts of remittance_column per distinct payment reference of the payroll's lines."""
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
    del lines
    paid = refs != b""
    refs, benefit = refs[paid], benefit[paid]
    if refs.shape[0] and not (refs[1:] >= refs[:-1]).all():  # calculate writes them sorted by payment
        order = np.argsort(refs, kind="stable")
        refs, benefit = refs[order], benefit[order]
    fallback = f"{record.payroll_id}{tail}"
    if refs.shape[0] == 0:
        return RemittanceTexts(refs, None, fallback)
    new = np.r_[True, refs[1:] != refs[:-1]]
    per_payment = _texts_per_payment(np.cumsum(new) - 1, benefit, names, tail,
                                     profile=transliteration_of(catalogue.country))
    return RemittanceTexts(refs[new], per_payment, fallback)


def _texts_per_payment(payment: np.ndarray, benefit: np.ndarray, names: list[str], tail: str,
                       packed: bool = True, profile: str = "sr") -> pa.DictionaryArray:
    """payment: 0, 0, 1, 2, 2, ... (ascending, every index present) per line; benefit: its code per line. The
    texts per payment as indices into the distinct texts."""
    key = payment * (len(names) + 1) + benefit
    # payments ascending: both sorts only reorder each payment's few lines, runs that a stable sort (timsort)
    # merges in about one pass, where the default quicksort sorted the ~10 M first lines from scratch
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    firsts = np.sort(order[np.r_[True, ordered[1:] != ordered[:-1]]], kind="stable")  # each benefit's first line
    del order, ordered
    starts = np.flatnonzero(np.r_[True, payment[firsts][1:] != payment[firsts][:-1]])
    position = np.arange(firsts.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, firsts.shape[0]]))
    width = int(position.max()) + 1
    sequence = np.full((starts.shape[0], width), -1, np.int16)
    sequence[payment[firsts], position] = benefit[firsts]
    firsts, inverse = _distinct_rows(sequence, len(names) + 1, packed)
    words = [fitted([names[b] for b in sequence[first] if b >= 0], tail, profile) for first in firsts.tolist()]
    return pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32)), pa.array(words, pa.string()))


REMITTANCE_CHARS = 140  # Ustrd: the file's writer cuts the text there, after transliterating it


def fitted(names: list[str], tail: str, profile: str = "sr") -> str:
    """The benefits' names and the month, within REMITTANCE_CHARS once transliterated (the file's writer would
    cut the month off a long text): the names that do not fit give way to "...", the month stays."""
    from bank_exports.text import cut_at_word, to_sepa_latin

    fits = lambda text: len(to_sepa_latin([text], profile)[0]) <= REMITTANCE_CHARS
    text = ", ".join(names) + tail
    if fits(text):
        return text
    for count in range(len(names) - 1, 0, -1):
        text = ", ".join(names[:count]) + ", ..." + tail
        if fits(text):
            return text
    latin_tail = to_sepa_latin([tail], profile)[0]
    return cut_at_word(to_sepa_latin([names[0]], profile)[0], REMITTANCE_CHARS - len(latin_tail) - 4) + " ..." + \
        latin_tail


def _distinct_rows(sequence: np.ndarray, base: int, packed: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(a row index of each distinct row, per row the index of its distinct row) of a (rows, width) array of
    codes in [-1, base - 1]. The rows are packed into one int64 each (digits of base `base`) when they fit: a
    sort of integers instead of one of byte strings (several seconds at national size); else, or with
    packed=False, compared as bytes (sorted). Which order the distinct rows come in does not matter to the caller."""
    rows, width = sequence.shape
    if packed and base ** width < 2 ** 62:
        keys = np.zeros(rows, np.int64)
        for column in range(width):
            keys *= base
            keys += sequence[:, column]
            keys += 1
        # a few hundred distinct keys among millions of rows: hashed (Arrow's dictionary encoding, its distinct
        # values in order of first appearance) instead of sorted; a row is its key's first when its index passes
        # every index before it
        encoded = pc.dictionary_encode(pa.array(keys))
        inverse = encoded.indices.to_numpy()
        seen_max = np.maximum.accumulate(inverse)
        return np.flatnonzero(np.r_[True, seen_max[1:] > seen_max[:-1]]), inverse
    else:
        keys = np.ascontiguousarray(sequence).view(np.dtype((np.void, sequence.dtype.itemsize * width))).ravel()
    _, firsts, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return firsts, inverse.ravel()
