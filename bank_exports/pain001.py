"""pain.001.001.09 writer: bank transfers (PmtMtd TRF) and postal cash payments (PmtMtd CHK), streamed to disk.

The transactions of a file are rendered into one buffer by a byte template (row_template: a Numba kernel reads
the escaped, pre-cut text straight from the Arrow buffers) and written block by block between the headers: the
document is never held as a tree, and no Python code runs per payment. Payments are split into files by channel and a maximum count,
and into PmtInf blocks by execution date, debtor account and a maximum count. NbOfTxs and CtrlSum come from
integer sums of minor units. Nothing is written unless every payment passed the checks in payments.py.
By default every file is validated against the official XSD before any file is renamed into place; the
validation runs on other threads (lxml parses and validates without the GIL) while the next files are written.
"""
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bank_exports import checks, row_template
from bank_exports.files import HashingWriter, WrittenFile
from bank_exports.payments import Debtor, Prepared, prepare_payments
from bank_exports.text import CHARSETS, TRANSLITERATIONS, clean_one, escape_xml_str
from bank_exports.xsd import assert_valid
from formats.amounts import format_amount, iso_exponent
from formats.errors import InputError, Problem
from formats.i18n import N_

MESSAGE = "pain.001.001.09"
VALIDATION_THREADS = 2  # validating costs a little more than writing: with the writer, two cores stay busy
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{MESSAGE}"
CHANNEL_LETTER = {"bank": "B", "post": "P"}  # in MsgId: which channel a file carries
DELIVERY_CODES = ("MLCD", "PUCD")  # mailed to the creditor / picked up by the creditor
EPOCH = date(1970, 1, 1)
ASSIGNED_COLUMNS = ["end_to_end_id", "channel", "amount_minor"]


@dataclass(frozen=True)
class Pain001Options:
    msg_id_prefix: str             # e.g. "ME-202605-R1"; files get MsgId "<prefix>-B001", PmtInf "<MsgId>-001"
    currency: str                  # ISO 4217, the catalogue's currency
    created_at: datetime           # GrpHdr/CreDtTm: passed in, so a rerun writes the same bytes
    execution_date: date           # ReqdExctnDt of payments without their own execution_date
    minor_exponent: int = 2        # the ledger's digits after the decimal point (0: whole dinars)
    file_exponent: int | None = None  # decimals written; None: the currency's ISO 4217 exponent, at least the
    # ledger's (RSD: 2, as the National Bank of Serbia's payment order instructions write dinars with paras)
    charset: str = "sepa"          # sepa | unicode
    transliteration: str = "sr"    # sr | uk | ru: how Cyrillic becomes Latin
    cheque_delivery: str = "MLCD"  # MLCD | PUCD for postal payments
    bank_addresses: bool = False   # also send the creditor's address with transfers (cross-border rules)
    max_per_file: int = 100_000
    max_per_pmt_inf: int = 10_000
    validate: bool = True          # validate each file against the XSD before any file is renamed into place
    service_level: str | None = None     # PmtTpInf/SvcLvl/Cd of transfers (e.g. SEPA); never on postal cheques
    charge_bearer: str | None = None     # ChrgBr of every block (e.g. SLEV)
    category_purpose: str | None = None  # PmtTpInf/CtgyPurp/Cd of every block (e.g. SSBE)
    purpose: str | None = None           # Purp/Cd of every transaction (e.g. SSBE)
    scheme: str | None = None            # the scheme whose rules checks.scheme_problems applies (EPC-SCT)


@dataclass(frozen=True)
class Pain001Result:
    files: list[WrittenFile]
    assignments: pa.Table  # end_to_end_id, msg_id, pmt_inf_id, channel, amount_minor: where each payment went


def _option_problems(options: Pain001Options) -> list[Problem]:
    problems = []
    longest = f"{options.msg_id_prefix}-B001-001"
    if not checks.id_is_valid(options.msg_id_prefix) or len(longest) > checks.ID_CHARS_MAX:
        problems.append(Problem("options", None, "msg_id_prefix", options.msg_id_prefix,
                                N_("{id_rule}; with '-B001-001' appended it must stay <= 35",
                                   id_rule=checks.ID_RULE),
                                N_("use a prefix of at most 26 letters, digits or '-'")))
    if not (len(options.currency) == 3 and options.currency.isalpha() and options.currency.isupper()):
        problems.append(Problem("options", None, "currency", options.currency, N_("ISO 4217 code expected"),
                                N_("use e.g. EUR, RSD, UAH")))
    if options.cheque_delivery not in DELIVERY_CODES:
        problems.append(Problem("options", None, "cheque_delivery", options.cheque_delivery,
                                N_("must be one of {delivery_codes}", delivery_codes=DELIVERY_CODES),
                                N_("MLCD mails the cash, PUCD is picked up")))
    if options.charset not in CHARSETS or options.transliteration not in TRANSLITERATIONS:
        problems.append(Problem("options", None, "charset", f"{options.charset}/{options.transliteration}",
                                N_("charset must be one of {charsets}, transliteration one of {transliterations}",
                                   charsets=CHARSETS, transliterations=TRANSLITERATIONS),
                                N_("use sepa/sr for Montenegro and Serbia, sepa/uk for Ukraine")))
    if not (0 <= options.minor_exponent <= file_exponent(options) <= 5):
        problems.append(Problem("options", None, "minor_exponent", options.minor_exponent,
                                N_("XSD amounts carry 0 to 5 decimals, at least the ledger's"),
                                N_("use the currency's exponent")))
    problems += checks.scheme_problems(options)
    if options.max_per_file < 1 or options.max_per_pmt_inf < 1 or options.max_per_file > 9_999_999:
        problems.append(Problem("options", None, "max_per_file", options.max_per_file,
                                N_("maximum counts must be positive"), N_("use e.g. 100000 and 10000")))
    return problems


def file_exponent(options: Pain001Options) -> int:
    """Decimals of the amounts written: as configured, else ISO 4217's for the currency (never fewer than the
    ledger keeps). Serbian dinars are kept whole in the ledger and written with two decimals (1500.00)."""
    if options.file_exponent is not None:
        return options.file_exponent
    iso = iso_exponent(options.currency)
    return options.minor_exponent if iso is None else max(iso, options.minor_exponent)


def _scale(options: Pain001Options) -> int:
    return 10 ** (file_exponent(options) - options.minor_exponent)


def _file_amount(amount_minor: int, options: Pain001Options) -> str:
    return format_amount(amount_minor * _scale(options), file_exponent(options))


ADDRESS_ELEMENTS = [("StrtNm", "street_xml"), ("BldgNb", "house_number_xml"), ("PstCd", "postcode_xml"),
                    ("TwnNm", "town_xml"), ("DstrctNm", "district_xml"), ("CtrySubDvsn", "region_xml"),
                    ("Ctry", "country_xml")]


def transaction_template(method: str, options: Pain001Options) -> row_template.RowTemplate:
    """One '<CdtTrfTxInf>...</CdtTrfTxInf>\\n' per payment: the elements of a transfer (TRF) or a postal cheque
    (CHK), with the optional ones (BIC, address parts, remittance) left out where the value is null."""
    rows = row_template.TemplateBuilder()
    # InstrId = EndToEndId: a bank that returns only the InstrId (PostFinance, ING) is still matched by it
    rows.literal("<CdtTrfTxInf><PmtId><InstrId>")
    rows.value("end_to_end_id")
    rows.literal("</InstrId><EndToEndId>")
    rows.value("end_to_end_id")
    rows.literal(f'</EndToEndId></PmtId><Amt><InstdAmt Ccy="{options.currency}">')
    rows.amount()
    rows.literal("</InstdAmt></Amt>")
    if method == "CHK":  # no creditor account, no creditor agent: the post delivers cash to the address
        rows.literal(f"<ChqInstr><ChqTp>BCHQ</ChqTp><DlvryMtd><Cd>{options.cheque_delivery}</Cd></DlvryMtd>"
                     "</ChqInstr>")
    else:
        rows.optional("<CdtrAgt><FinInstnId><BICFI>", "bic_xml", "</BICFI></FinInstnId></CdtrAgt>")
    rows.literal("<Cdtr><Nm>")
    rows.value("name_xml")
    rows.literal("</Nm>")
    if method == "CHK" or options.bank_addresses:
        rows.group("<PstlAdr>", ADDRESS_ELEMENTS, "</PstlAdr>")
    rows.literal("</Cdtr>")
    if method != "CHK":
        rows.literal("<CdtrAcct><Id><IBAN>")
        rows.value("iban_xml")
        rows.literal("</IBAN></Id></CdtrAcct>")
    if options.purpose:  # Purp comes right before RmtInf in CreditTransferTransaction34
        rows.literal(f"<Purp><Cd>{options.purpose}</Cd></Purp>")
    rows.optional("<RmtInf><Ustrd>", "remittance_xml", "</Ustrd></RmtInf>")
    rows.literal("</CdtTrfTxInf>\n")
    return rows.build()


def _group_header(msg_id: str, nb_of_txs: int, ctrl_sum_minor: int, debtor_name: str,
                  options: Pain001Options) -> str:
    created = options.created_at.replace(microsecond=0, tzinfo=None).isoformat()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}">\n<CstmrCdtTrfInitn>\n'
            f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{nb_of_txs}</NbOfTxs>"
            f"<CtrlSum>{_file_amount(ctrl_sum_minor, options)}</CtrlSum>"
            f"<InitgPty><Nm>{debtor_name}</Nm></InitgPty></GrpHdr>\n")


def _payment_info_header(pmt_inf_id: str, method: str, nb_of_txs: int, ctrl_sum_minor: int, execution_day: int,
                         debtor: Debtor, options: Pain001Options) -> str:
    execution = (EPOCH + timedelta(days=int(execution_day))).isoformat()
    service = f"<SvcLvl><Cd>{options.service_level}</Cd></SvcLvl>" if options.service_level and method == "TRF" \
        else ""
    category = f"<CtgyPurp><Cd>{options.category_purpose}</Cd></CtgyPurp>" if options.category_purpose else ""
    payment_type = f"<PmtTpInf>{service}{category}</PmtTpInf>" if service or category else ""
    bearer = f"<ChrgBr>{options.charge_bearer}</ChrgBr>" if options.charge_bearer else ""
    name, iban = _debtor_xml(debtor, options.charset, options.transliteration)
    agent = f"<BICFI>{debtor.bic}</BICFI>" if debtor.bic else "<Othr><Id>NOTPROVIDED</Id></Othr>"
    return (f"<PmtInf><PmtInfId>{pmt_inf_id}</PmtInfId><PmtMtd>{method}</PmtMtd><BtchBookg>true</BtchBookg>"
            f"<NbOfTxs>{nb_of_txs}</NbOfTxs>"
            f"<CtrlSum>{_file_amount(ctrl_sum_minor, options)}</CtrlSum>"
            f"{payment_type}<ReqdExctnDt><Dt>{execution}</Dt></ReqdExctnDt><Dbtr><Nm>{name}</Nm></Dbtr>"
            f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId>{agent}</FinInstnId></DbtrAgt>"
            f"{bearer}\n")


@functools.lru_cache(maxsize=64)
def _debtor_xml(debtor: Debtor, charset: str, transliteration: str) -> tuple[str, str]:
    """(name, IBAN) of a debtor as its headers write them: once per debtor, not once per block."""
    name = escape_xml_str(clean_one(debtor.name, 140, charset, transliteration))
    return name, checks.normalise_iban(pa.array([debtor.iban]))[0].as_py()


def _sum_minor(amounts: np.ndarray) -> int:
    """Exact sum as a Python int (chunked: a huge file of huge amounts could pass int64)."""
    return sum(int(amounts[start:start + 100_000].sum()) for start in range(0, len(amounts), 100_000))


def _block_bounds(keys: np.ndarray, max_count: int) -> list[tuple[int, int]]:
    """[start, end) runs of equal keys (sorted rows), each cut into pieces of at most max_count."""
    change = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], change]).tolist()
    ends = np.concatenate([change, [len(keys)]]).tolist()
    return [(piece, min(piece + max_count, end)) for start, end in zip(starts, ends)
            for piece in range(start, end, max_count)]


@dataclass(frozen=True)
class _FilePlan:
    msg_id: str
    method: str                    # TRF | CHK
    order: np.ndarray              # rows of the file (indices into the prepared table), in writing order
    blocks: list[tuple[int, int]]  # [start, end) of each PmtInf within order


def _plan(prepared: Prepared, options: Pain001Options) -> list[_FilePlan]:
    """Files and blocks of the export, decided (and their ids checked) before anything is written."""
    order, keys = _row_order(prepared)
    is_post = pc.equal(prepared.table["channel"], "post").to_numpy(zero_copy_only=False)[order]
    plans = []
    for channel, method in (("bank", "TRF"), ("post", "CHK")):
        positions = np.flatnonzero(is_post == (channel == "post"))
        for number, start in enumerate(range(0, positions.size, options.max_per_file), start=1):
            picked = positions[start:start + options.max_per_file]
            msg_id = f"{options.msg_id_prefix}-{CHANNEL_LETTER[channel]}{number:03d}"
            plans.append(_FilePlan(msg_id, method, order[picked], _block_bounds(keys[picked], options.max_per_pmt_inf)))
    longest = max((f"{plan.msg_id}-{len(plan.blocks):03d}" for plan in plans), key=len, default="")
    if len(longest) > checks.ID_CHARS_MAX:
        raise InputError([Problem("options", None, "max_per_pmt_inf", options.max_per_pmt_inf,
                                  N_("this export needs ids like {longest}, longer than 35 characters",
                                     longest=repr(longest)),
                                  N_("raise max_per_file / max_per_pmt_inf or shorten msg_id_prefix"))])
    return plans


@dataclass(frozen=True)
class _Rendering:
    """What renders one method's transactions: its template and the buffers of the columns it reads."""
    template: row_template.RowTemplate
    columns: row_template.StringColumns


def _write_file(path: Path, plan: _FilePlan, rendering: _Rendering, prepared: Prepared, options: Pain001Options,
                buffer: row_template.RenderBuffer | None = None) \
        -> tuple[WrittenFile, HashingWriter, tuple[list[str], list[int]]]:
    """One planned file: its transactions rendered in one buffer (`buffer`, shared by the files of an export),
    written block by block between the headers."""
    msg_id, method, order, blocks = plan.msg_id, plan.method, plan.order, plan.blocks
    amounts = prepared.amount_minor[order]
    debtor_first = prepared.debtors[int(prepared.debtor_index[order[0]])]
    debtor_name = _debtor_xml(debtor_first, options.charset, options.transliteration)[0]
    rendered, ends = row_template.render(rendering.template, rendering.columns, order, prepared.amount_minor,
                                         _scale(options), file_exponent(options), buffer)
    transactions = memoryview(rendered)
    out = HashingWriter(path)
    try:
        out.write_text(_group_header(msg_id, len(order), _sum_minor(amounts), debtor_name, options))
        pmt_inf_ids = ([], [])  # each PmtInfId and how many payments it carries
        for number, (start, end) in enumerate(blocks, start=1):
            pmt_inf_id = f"{msg_id}-{number:03d}"
            pmt_inf_ids[0].append(pmt_inf_id)
            pmt_inf_ids[1].append(end - start)
            first = int(order[start])
            debtor = prepared.debtors[int(prepared.debtor_index[first])]
            out.write_text(_payment_info_header(pmt_inf_id, method, end - start, _sum_minor(amounts[start:end]),
                                                int(prepared.execution_days[first]), debtor, options))
            out.write(transactions[int(ends[start - 1]) if start else 0:int(ends[end - 1])])
            out.write_text("</PmtInf>\n")
        out.write_text("</CstmrCdtTrfInitn>\n</Document>\n")
        digest = out.close()
    except BaseException:
        out.discard()
        raise
    channel = "bank" if method == "TRF" else "post"
    written = WrittenFile(path.name, digest, msg_id, channel, options.currency, len(order), _sum_minor(amounts),
                          MESSAGE)
    return written, out, pmt_inf_ids


def _row_order(prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Row order by channel, execution date, debtor (stable: input order inside) and each row's block key."""
    channel_code = pc.equal(prepared.table["channel"], "post").to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.lexsort((np.arange(len(channel_code)), prepared.debtor_index, prepared.execution_days,
                        channel_code))
    keys = (prepared.execution_days * (len(prepared.debtors) + 1) + prepared.debtor_index) * 2 + channel_code
    return order, keys[order]


def write_pain001(payments, out_dir, debtor: Debtor | list[Debtor], options: Pain001Options) -> Pain001Result:
    """Write every payment into pain.001.001.09 files in out_dir; refuses (InputError) before writing anything."""
    return start_pain001(payments, out_dir, debtor, options).finish()


class PendingPain001:
    """Files written under their temporary names while their XSD validation runs on other threads: `finish()`
    waits for it and renames every file into place (or removes them all and raises SchemaViolation); `discard()`
    removes them. A caller can do other work (e.g. prepare its ledger batch) before finishing."""

    def __init__(self, files: list[WrittenFile], assigned: list, writers: list[HashingWriter], checked: list,
                 validator: ThreadPoolExecutor | None):
        self.files, self._assigned, self._writers = files, assigned, writers
        self._checked, self._validator = checked, validator

    def finish(self) -> Pain001Result:
        try:
            for future in self._checked:
                future.result()  # SchemaViolation of the first invalid file
        except BaseException:
            self.discard()
            raise
        self._stop(wait=True)
        for out in self._writers:
            out.commit()
        return Pain001Result(self.files, _assignments(self._assigned))

    def discard(self) -> None:
        for future in self._checked:
            future.cancel()
        self._stop(wait=True)
        for out in self._writers:
            out.discard()

    def _stop(self, wait: bool) -> None:
        if self._validator is not None:
            self._validator.shutdown(wait=wait)


def start_pain001(payments, out_dir, debtor: Debtor | list[Debtor], options: Pain001Options) -> PendingPain001:
    """write_pain001 up to renaming: checks (InputError before writing anything), writes every file under its
    temporary name and starts its validation; finish() the result to put the files in place."""
    problems = _option_problems(options)
    if problems:
        raise InputError(problems)
    prepared = prepare_payments(payments, debtor, options.execution_date, options.charset, options.transliteration)
    plans = _plan(prepared, options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = prepared.table
    renderings = {}
    for method in {plan.method for plan in plans}:
        template = transaction_template(method, options)
        renderings[method] = _Rendering(template, row_template.string_columns(table, template))
    pending, files, assigned, checked = [], [], [], []
    validator = ThreadPoolExecutor(max_workers=VALIDATION_THREADS, thread_name_prefix="xsd") \
        if options.validate and plans else None
    result = PendingPain001(files, assigned, pending, checked, validator)
    buffer = row_template.RenderBuffer()  # each file's bytes are on disk before the next file is rendered
    # each file takes its rows of these: from one chunk each, not from the Parquet row groups' chunks (a take
    # from a chunked column costs ~20 times as much: 6 s for the 74 files of a national payroll)
    assignable = pa.table({name: checks.flat(table.column(name)) for name in ASSIGNED_COLUMNS})
    try:
        for plan in plans:
            written, out, pmt_inf_ids = _write_file(out_dir / f"{plan.msg_id}.xml", plan, renderings[plan.method],
                                                     prepared, options, buffer)
            pending.append(out)
            files.append(written)
            assigned.append((assignable.take(pa.array(plan.order)), plan.msg_id, pmt_inf_ids))
            if validator is not None:
                checked.append(validator.submit(assert_valid, out.part))
    except BaseException:
        result.discard()
        raise
    return result


def _assignments(assigned) -> pa.Table:
    """Where each payment went; the message and block ids per row are taken from the few distinct ids."""
    parts = []
    for part, msg_id, pmt_inf_ids in assigned:
        names, counts = pmt_inf_ids
        block = np.repeat(np.arange(len(names), dtype=np.int64), counts)
        parts.append(pa.table({"end_to_end_id": part["end_to_end_id"],
                               "msg_id": pc.take(pa.array([msg_id], pa.string()),
                                                 pa.array(np.zeros(part.num_rows, np.int64))),
                               "pmt_inf_id": pc.take(pa.array(names, pa.string()), pa.array(block)),
                               "channel": part["channel"], "amount_minor": part["amount_minor"]}))
    if not parts:
        return pa.table({"end_to_end_id": pa.array([], pa.string()), "msg_id": pa.array([], pa.string()),
                         "pmt_inf_id": pa.array([], pa.string()), "channel": pa.array([], pa.string()),
                         "amount_minor": pa.array([], pa.int64())})
    return pa.concat_tables(parts)
