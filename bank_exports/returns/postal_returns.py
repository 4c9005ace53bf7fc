"""The post's return list (a UTF-8 CSV: reference, status, reason, date[, amount]), read column-wise."""
from datetime import date
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from bank_exports.returns.record import ReturnRecord
from bank_exports.safexml import refusal
from formats.amounts import exponent_of as currency_exponent, parse_amount, parse_amounts
from formats.errors import InputError, Problem

POSTAL_KIND = "postal-return"
POSTAL_STATUS = {"paid": "settled", "delivered": "settled", "settled": "settled", "returned": "returned",
                 "undelivered": "returned", "unclaimed": "returned", "refused": "returned", "rejected": "rejected"}


def utf8_bytes(path: Path) -> bytes:
    """The file's bytes (without a UTF-8 byte order mark), refused with the line of the first byte that is not
    UTF-8 (a list saved as Windows-1250 or -1251 would otherwise end in an Arrow error)."""
    data = path.read_bytes()
    data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refusal(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                      "save the post's file as UTF-8 CSV (e.g. 'CSV UTF-8' in a spreadsheet)") from None
    return data


def postal_table(path: Path) -> pa.Table:
    data = utf8_bytes(path)
    try:
        table = pcsv.read_csv(pa.BufferReader(data), read_options=pcsv.ReadOptions(encoding="utf-8"),
                              convert_options=pcsv.ConvertOptions(strings_can_be_null=False,
                                                                  column_types={}, auto_dict_encode=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise refusal(path, None, f"not a readable CSV: {exc}", "save the post's file as UTF-8 CSV") from exc
    table = pa.table({name.strip().lower(): pc.cast(table[name], pa.string()) for name in table.column_names})
    missing = [name for name in ("reference", "status") if name not in table.column_names]
    if missing:
        raise InputError([Problem(str(path), None, name, None, "postal return column missing",
                                  "columns: reference, status, reason, date (amount optional)") for name in missing])
    return table


def postal_record(path: Path, row: int, values: dict, problems: list, currency: str | None,
                   exponent: int) -> ReturnRecord | None:
    status = (values.get("status") or "").strip().lower()
    reference = (values.get("reference") or "").strip() or None
    if status not in POSTAL_STATUS:
        problems.append(Problem(str(path), row, "status", status, f"unknown status; expected one of "
                                f"{sorted(POSTAL_STATUS)}", "use the post's status words listed"))
        return None
    try:
        booked = date.fromisoformat(values["date"].strip()) if (values.get("date") or "").strip() else None
        amount = parse_amount(values["amount"], exponent) if (values.get("amount") or "").strip() else None
    except ValueError as exc:
        problems.append(Problem(str(path), row, "date/amount", None, str(exc),
                                f"dates YYYY-MM-DD, amounts with at most {exponent} decimals (e.g. 1500 or 12.34)"))
        return None
    reason = (values.get("reason") or "").strip() or None
    code = reason if reason and len(reason) == 4 and reason.isalnum() and reason.isupper() else None
    return ReturnRecord(kind=POSTAL_STATUS[status], scope="transaction", original_end_to_end_id=reference,
                        original_msg_id=None, original_pmt_inf_id=None, reason_code=code,
                        reason_text=None if code else reason, amount_minor=amount, currency=currency,
                        booking_date=booked, source_msg_id=None, source_file=path.name, line=row,
                        source_message=POSTAL_KIND)


def read_postal_returns(path, currency: str | None = None, minor_exponent: int | None = None) -> list[ReturnRecord]:
    """The post's return list (reference = our EndToEndId, status, reason, date[, amount]); all problems at once.

    The list names no currency: its amounts are in `currency` (the ledger's), read with minor_exponent, by
    default that currency's ISO 4217 exponent ("1500" RSD is 1500.00 dinars, 150000 paras; "12.345" KWD is
    12345 fils), and the records carry that currency.

    The post may list every payment it delivered: status and amount columns are checked and converted with Arrow
    (a known status, a plain amount), dates parsed once per distinct value, and only a row that fails a check
    goes through postal_record, which names its problem or accepts a form the column checks leave to it."""
    path = Path(path)
    exponent = currency_exponent(currency) if minor_exponent is None else minor_exponent
    table = postal_table(path)
    count = table.num_rows

    def column(name: str):  # a column left empty throughout is read as nulls: "" like an empty cell
        if name not in table.column_names:
            return pa.array([""] * count)
        return pc.fill_null(pc.utf8_trim_whitespace(table[name]), "")

    status, amount = pc.utf8_lower(column("status")), column("amount")
    minor, converted = parse_amounts(amount, exponent)
    amount_ok = pc.or_(pc.equal(amount, ""), pa.array(converted))
    fast = pc.and_(pc.is_in(status, value_set=pa.array(list(POSTAL_STATUS))), amount_ok)
    problems, records, names, days = [], [], table.column_names, {"": None}
    make, file_name = partial(tuple.__new__, ReturnRecord), path.name
    for row, (ok, kind, reference, reason, day, value, empty) in enumerate(zip(
            fast.to_pylist(), status.to_pylist(), column("reference").to_pylist(), column("reason").to_pylist(),
            column("date").to_pylist(), minor.tolist(), pc.equal(amount, "").to_pylist()), start=1):
        booked = days.get(day, days)
        if booked is days:  # a date not seen yet
            try:
                booked = days[day] = date.fromisoformat(day)
            except ValueError:
                ok = False
        if not ok:  # the row as read, judged one by one
            record = postal_record(path, row, {name: table[name][row - 1].as_py() for name in names}, problems,
                                    currency, exponent)
            if record is not None:
                records.append(record)
            continue
        code = reason if len(reason) == 4 and reason.isalnum() and reason.isupper() else None
        records.append(make((POSTAL_STATUS[kind], "transaction", reference or None, None, None, code,
                             None if code else reason or None, None if empty else value, currency, booked, None,
                             file_name, row, POSTAL_KIND, None, None, None, None, None, None, None)))
    if problems:
        raise InputError(problems)
    return records
