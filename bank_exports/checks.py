"""Checks on payment columns before anything is written: message ids, IBANs, BICs, amounts.

All checks take whole columns and return a boolean "valid" mask; IBANs go through the register's column-wise
fast path (formats.bank_ids: schwifty's rules with numpy), because calling schwifty once per IBAN (~20 us) would
alone spend the writer's time budget on 100,000 payments. schwifty itself words the message of every IBAN
that fails.
"""
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from schwifty import IBAN, exceptions

from formats.bank_ids import bic_reason, fast_valid_ibans
from formats.errors import Problem
from formats.i18n import N_
from formats.text_scan import string_buffers

ID_CHARS_MAX = 35
# Letters, digits and '-' only: accepted by SEPA (no '/' rules to break) and by the Swiss Payment Standards.
ID_PATTERN = r"^[A-Za-z0-9-]{1,35}$"
ID_RULE = "an id must be 1-35 characters, only letters A-Z a-z, digits and '-'"
_ID_RE = re.compile(ID_PATTERN)


def flat(column) -> pa.Array:
    """One contiguous Array (table columns are ChunkedArrays); a column of one chunk is that chunk, not a copy
    (combine_chunks copies even one chunk)."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def id_is_valid(text: str) -> bool:
    return bool(_ID_RE.match(text or ""))


def ids_valid(column: pa.Array) -> np.ndarray:
    """Mask of ids that are non-null and follow ID_PATTERN."""
    matched = pc.match_substring_regex(pc.cast(column, pa.string()), ID_PATTERN)
    return matched.fill_null(False).to_numpy(zero_copy_only=False)


def normalise_iban(column: pa.Array) -> pa.Array:
    """Upper case without spaces: the form written to files. A column in that form already (a register's IBANs
    usually are) is returned as it is, found so by three passes that copy no string: the two transforms copied
    every IBAN twice (a national payroll's are 160 MB)."""
    text = pc.cast(column, pa.string())
    if _electronic(text):
        return text
    return pc.utf8_upper(pc.replace_substring(text, " ", ""))


def _electronic(text) -> bool:
    """Whether removing spaces and upper-casing leave every value as it is: ASCII strings without a space, each
    with a letter and no lower-case one (ascii_is_upper; a value without a letter takes the general path)."""
    return (pc.all(pc.string_is_ascii(text)).as_py() is not False
            and not pc.any(pc.match_substring(text, " ")).as_py()
            and pc.all(pc.ascii_is_upper(text)).as_py() is not False)


def strictly_ascending(column) -> bool:
    """Whether the strings of a column (no nulls, one width) come in strictly ascending order, so that no value
    repeats: neighbours compared as fixed-width bytes, where counting the values hashes them all (4 CPU-s for a
    national payroll's 7 M EndToEndIds, which come sorted). Any other column answers False (the caller counts)."""
    width, last = None, None
    for array in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]):
        if len(array) == 0:
            continue
        if array.null_count or not pa.types.is_string(array.type):
            return False
        offsets, data = string_buffers(array)
        lengths = np.diff(offsets)
        width = int(lengths[0]) if width is None else width
        if width == 0 or lengths.min() != width or lengths.max() != width:
            return False
        values = data[offsets[0]:offsets[-1]].view(f"S{width}")
        # equal widths: numpy's order of the values is that of their bytes, as Python's bytes compare them
        if not (values[1:] > values[:-1]).all() or (last is not None and not last < values[0]):
            return False
        last = values[-1]
    return True


def ibans_valid(column: pa.Array) -> np.ndarray:
    """Mask of IBANs valid by schwifty's rules (nulls are invalid; the caller decides where an IBAN is needed)."""
    return fast_valid_ibans(flat(normalise_iban(column))).to_numpy(zero_copy_only=False)


def iban_problem_text(iban: str | None) -> str:
    """schwifty's own words for why an IBAN is refused."""
    if not iban:
        return "IBAN missing"
    try:
        IBAN(iban)
    except exceptions.SchwiftyException as exc:
        return f"invalid IBAN: {exc}"
    except KeyError:
        return "invalid IBAN: unknown country code"
    return "invalid IBAN"


def bics_valid(column: pa.Array) -> np.ndarray:
    """Mask of BICs valid by the register's rule (formats.bank_ids.bic_reason), each distinct BIC checked once."""
    text = pc.cast(column, pa.string())
    distinct = [value for value in pc.unique(text.drop_null()).to_pylist()]
    good = [value for value in distinct if bic_reason(value) is None]
    return pc.is_in(text, pa.array(good, pa.string())).to_numpy(zero_copy_only=False)


def bic_problem_text(bic: str | None) -> str | None:
    reason = bic_reason(bic or "")
    return None if reason is None else f"invalid BIC: {reason}"


# ---- scheme rules -------------------------------------------------------------------------------------------------
# EPC SEPA Credit Transfer Rulebook, Implementation Guidelines (customer-to-bank): euro only, service level SEPA,
# charge bearer SLEV, the SEPA basic Latin character set, names <= 70 and unstructured remittance <= 140
# characters (payments.TEXT_CHARS_MAX keeps those for every file), ids of letters, digits and '-' (ID_PATTERN).
SCHEME_RULES = {"EPC-SCT": {"currency": "EUR", "service_level": "SEPA", "charge_bearer": "SLEV", "charset": "sepa"}}


def scheme_problems(options) -> list:
    """Problems of payment options (pain001.Pain001Options) against the rules of the scheme they name."""
    rules = SCHEME_RULES.get(options.scheme) if options.scheme else None
    if options.scheme and rules is None:
        return [Problem("options", None, "scheme", options.scheme, N_("unknown scheme; known: {value}",
                                                                      value=sorted(SCHEME_RULES)),
                        N_("leave the scheme out or name a known one"))]
    problems = []
    for key, wanted in (rules or {}).items():
        value = getattr(options, key)
        if value != wanted:
            problems.append(Problem("options", None, key, value, N_("{scheme} requires {key} {wanted}",
                                                                    scheme=options.scheme, key=key, wanted=wanted),
                                    N_("set {key} = \"{wanted}\" in the catalogue's [payment] (or drop the scheme)",
                                       key=key, wanted=wanted)))
    return problems
