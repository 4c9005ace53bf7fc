"""Fixed-term awards: a version of a benefit whose catalogue entry sets `award_months` (UA_DSD: "awarded from the
month of application for 6 months, renewed") is in force for at most that many months from the month its award
began, whatever its valid_to says (none, or a later day): versions with one application day are one award (a
correction within it), a renewal is a new version with a new application. The conversion ends such versions
there, so every kernel, window and check sees the award's end. A per_member_category benefit's longer version is
refused at its row instead (formats/convert.py _check_award_windows: the decree bounds the period)."""
import numpy as np

from engine.entitlement import RegisterArrays, V_TO_DAY, V_TO_MONTH, benefits_present
from formats.ordered_register import benefit_list


def award_limits(catalogue) -> np.ndarray:
    """Months of a fixed-term award per benefit (catalogue order), 0 where none is ended here."""
    return np.array([benefit.info.get("award_months", 0) if benefit.kind != "per_member_category" else 0
                     for benefit in benefit_list(catalogue)], dtype=np.int64)


def award_start(arrays: RegisterArrays, awarded: np.ndarray, applied: np.ndarray | None = None) -> np.ndarray:
    """Per version, the month its award began: the earliest valid_from month of the right's versions with the
    same application day (applied_on, else the decision's): a version that corrects an award (an income change
    from March of an award applied for in January) stays within it, a renewal (a new application) starts its own.
    `applied`: per version what tells applications apart (default the application day)."""
    start = arrays.ver_from_month.astype(np.int64)
    rows = np.flatnonzero(awarded)
    if rows.size == 0:
        return start
    applied = (arrays.ver_applied_day if applied is None else applied)[rows].astype(np.int64)
    key = arrays.ver_right[rows].astype(np.int64) << 32 | (applied - applied.min())  # (right, day) as one int64
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    heads = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    if heads.shape[0] == rows.shape[0]:  # every version an application of its own: each its own award
        return start
    first = np.minimum.reduceat(start[rows][order], heads)
    start[rows[order]] = np.repeat(first, np.diff(np.r_[heads, ordered.shape[0]]))
    return start


def month_last_days(months: np.ndarray) -> np.ndarray:
    """The last day (days since 1970-01-01) of each month (months since 1970-01), from a table of the range."""
    if months.size == 0:
        return np.zeros(0, np.int64)
    low = int(months.min())
    ends = np.arange(low + 1, int(months.max()) + 2).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return ends[months - low] - 1


def end_awards(arrays: RegisterArrays, catalogue, matrices: dict) -> RegisterArrays:
    """The arrays with every fixed-term version ended at its award's last day (the packed copy `matrices` holds,
    if any, too)."""
    limits = award_limits(catalogue)
    if not limits.any() or not len(arrays.ver_right):
        return arrays
    present = np.flatnonzero(benefits_present(arrays.right_benefit, len(limits)))
    if not limits[present].any():
        return arrays
    if present.shape[0] == 1:  # a register of one benefit: its limit for every version, without two gathers
        limit = np.full(len(arrays.ver_right), limits[present[0]], dtype=np.int64)
    else:
        limit = limits[np.asarray(arrays.right_benefit, np.int64)[arrays.ver_right]]
    last = award_start(arrays, limit > 0) + limit - 1
    cut = (limit > 0) & (arrays.ver_to_month.astype(np.int64) > last)
    if not cut.any():
        return arrays
    to_month = np.where(cut, last, arrays.ver_to_month).astype(np.int32)
    to_day = np.array(arrays.ver_to_day, dtype=np.int32)
    to_day[cut] = month_last_days(last[cut])
    ver32 = matrices.get("ver32") if matrices else None
    if ver32 is not None:  # the kernels' packed copy, written before the loose arrays were taken from it
        ver32[:, V_TO_MONTH], ver32[:, V_TO_DAY] = to_month, to_day
    packed = arrays.packed
    if packed is not None:
        packed.ver32[:, V_TO_MONTH], packed.ver32[:, V_TO_DAY] = to_month, to_day
    return arrays._replace(ver_to_month=to_month, ver_to_day=to_day)
