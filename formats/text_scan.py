"""Scans of whole Arrow string columns in one pass over their buffers (offsets and UTF-8 bytes), compiled by Numba.

pyarrow.compute and numpy need several passes and temporaries per test (slices, regular expressions, a padded
byte matrix for the mod-97 check); at national size (25 million names, 8 million IBANs) those passes are seconds.
These kernels read each string's bytes once and write one boolean per row; the callers (formats.bank_ids,
formats.register_checks) keep pyarrow for the few rows that need a closer look, so the results are the same.
"""
import re

import numpy as np
import pyarrow as pa

from engine.jit import kernel

IBAN_LENGTH_MIN, IBAN_LENGTH_MAX = 5, 34   # ^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$
REMAINDER_ROOM = 10**15  # a partial remainder is reduced mod 97 only when it grows past this (int64 stays exact)


def string_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets of the array's own rows, int32 or int64; the data bytes) of a string or large_string array,
    without a copy. The data is one zero byte when the array has no bytes at all (every string empty)."""
    assert pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type), strings.type
    offset_type = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    _, offsets_buffer, data_buffer = strings.buffers()
    if offsets_buffer is None:  # an array of length 0 may have no buffers
        return np.zeros(1, offset_type), np.zeros(1, np.uint8)
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[strings.offset: strings.offset + len(strings) + 1]
    if data_buffer is None or data_buffer.size == 0:
        return offsets, np.zeros(1, np.uint8)
    return offsets, np.frombuffer(data_buffer, dtype=np.uint8)


@kernel
def blank_candidates_kernel(offsets, data, lead, out):
    """out[i]: string i is empty or its first byte is in `lead` (bytes a whitespace-only string can start with)."""
    assert offsets.shape[0] == out.shape[0] + 1
    assert lead.shape[0] == 256 and data.shape[0] >= 1
    for i in range(out.shape[0]):
        start = offsets[i]
        out[i] = offsets[i + 1] == start or lead[data[start]]


def blank_candidates(strings: pa.Array, lead: np.ndarray) -> np.ndarray:
    """Boolean per row of a string array: empty, or starting with a byte of `lead` (bool[256])."""
    offsets, data = string_buffers(strings)
    out = np.empty(len(strings), dtype=np.bool_)
    blank_candidates_kernel(offsets, data, lead, out)
    return out


@kernel
def _iban_char(byte, place, remainder):
    """The remainder with one more character of an IBAN appended (a letter counts as two digits, 10..35), or -1
    when the character is not allowed at `place` (0-1 letters, 2-3 digits, then letters or digits)."""
    assert place >= 0
    assert remainder >= 0
    if 48 <= byte <= 57 and place >= 2:
        remainder = remainder * 10 + byte - 48
    elif 65 <= byte <= 90 and not 2 <= place <= 3:
        remainder = remainder * 100 + byte - 55
    else:
        return -1
    return remainder % 97 if remainder >= REMAINDER_ROOM else remainder


@kernel
def iban_form_mod97_kernel(offsets, data, out):
    """out[i]: string i is an IBAN in electronic form (^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$) whose ISO 7064 mod 97-10
    remainder (BBAN, then country and check digits; letters count 10..35) is 1 and whose check digits are in
    02..98 (the aliases 00, 01 and 99 also leave 1, and the algorithm never produces them)."""
    assert offsets.shape[0] == out.shape[0] + 1
    assert data.shape[0] >= 1
    for i in range(out.shape[0]):
        start, end = offsets[i], offsets[i + 1]
        length = end - start
        remainder = 0 if IBAN_LENGTH_MIN <= length <= IBAN_LENGTH_MAX else -1
        for place in range(4, length):  # BBAN first, the first four characters last
            if remainder >= 0:
                remainder = _iban_char(data[start + place], place, remainder)
        for place in range(4):
            if remainder >= 0:
                remainder = _iban_char(data[start + place], place, remainder)
        ok = remainder >= 0 and remainder % 97 == 1
        if ok:
            check = (data[start + 2] - 48) * 10 + data[start + 3] - 48
            ok = 2 <= check <= 98
        out[i] = ok


def iban_form_and_check_digits(ibans: pa.Array) -> np.ndarray:
    """Boolean per row of a string array: electronic form and valid check digits (null rows: False)."""
    offsets, data = string_buffers(ibans)
    out = np.empty(len(ibans), dtype=np.bool_)
    iban_form_mod97_kernel(offsets, data, out)
    if ibans.null_count:
        out &= ibans.is_valid().to_numpy(zero_copy_only=False)
    return out


# BBAN character classes of schwifty's specs ("3!n13!n2!n": 3 digits, 13 digits, 2 digits) and its regex for each
BBAN_CLASSES = {"n": (0, r"\d"), "a": (1, r"[A-Z]"), "c": (2, r"[A-Za-z0-9]"), "e": (3, r" ")}
BBAN_PART = r"(\d+)(!)?([nace])"


def bban_classes(bban_spec: str, regex: str, iban_length: int) -> np.ndarray | None:
    """The class (BBAN_CLASSES) of each BBAN position when every part of the spec has a fixed length and the
    registry's regex is the one the spec gives (so a check by position is the regex exactly); else None."""
    parts = re.findall(BBAN_PART, bban_spec)
    if "".join(f"{count}{fixed}{kind}" for count, fixed, kind in parts) != bban_spec or not parts:
        return None
    if not all(fixed for _, fixed, _ in parts):
        return None
    if regex != "^" + "".join(BBAN_CLASSES[kind][1] + f"{{{count}}}" for count, _, kind in parts) + "$":
        return None
    classes = np.concatenate([np.full(int(count), BBAN_CLASSES[kind][0], np.int8) for count, _, kind in parts])
    return classes if classes.shape[0] + 4 == iban_length else None


@kernel
def bban_mismatch_kernel(offsets, data, rows, classes, out):
    """out[i]: the string at rows[i] is not 4 + len(classes) bytes long, or a BBAN byte is outside its class."""
    assert rows.shape[0] == out.shape[0] and offsets.shape[0] >= 1
    assert classes.shape[0] >= 1 and data.shape[0] >= 1
    for i in range(rows.shape[0]):
        start = offsets[rows[i]]
        bad = offsets[rows[i] + 1] - start != classes.shape[0] + 4
        k = 0
        while not bad and k < classes.shape[0]:
            byte, kind = data[start + 4 + k], classes[k]
            digit, capital = 48 <= byte <= 57, 65 <= byte <= 90
            if kind == 0:
                bad = not digit
            elif kind == 1:
                bad = not capital
            elif kind == 2:
                bad = not (digit or capital or 97 <= byte <= 122)
            else:
                bad = byte != 32
            k += 1
        out[i] = bad


def bban_mismatch(strings: pa.Array, rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Boolean per one of `rows` (ASCII strings): wrong length or a BBAN character outside its class."""
    offsets, data = string_buffers(strings)
    out = np.empty(rows.shape[0], dtype=np.bool_)
    bban_mismatch_kernel(offsets, data, np.ascontiguousarray(rows, np.int64), classes, out)
    return out
