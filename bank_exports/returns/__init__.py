"""Readers of what banks and the post send back: pain.002, camt.054, camt.053, pacs.004 (any version, matched by
local element names; the first versions' message element named after the message, <pain.002.001.02>, too) and
the postal return CSV. Each yields ReturnRecords: which payment (EndToEndId, or the original MsgId / PmtInfId of
a whole-file or whole-block status), what happened (rejected, returned, settled), why (reason code and text), how
much (and the payment's instructed amount, where a return had the bank's charges taken off), when, and where in
which file it was said.

A group-level RJCT (pain.002 GrpSts, e.g. AM10 control sum) rejects every payment of the referenced message: the
record has scope "message" and no EndToEndId, and `expand_records` turns it into one record per payment given
the export's assignments. A camt DBIT entry that names our MsgId / PmtInfId is the batch debit that settles the
file; a detail's own CdtDbtInd decides for it; a debit that reverses (RvslInd) never settles (on a credit RvslInd
is ignored: banks set it inconsistently on returns); an entry not booked yet is a "status" record of each detail. XML is read with safexml (no DTD, no entities,
no network, streaming). camt files, which can hold hundreds of thousands of entries, are fed to a pull parser in
64 KB chunks that reports only where a notification / statement starts; after each chunk the complete entries
are walked (only the few elements the reader needs, tags compared with the file's own namespace) into named rows
and removed from the tree: memory stays flat, and amounts are converted column-wise. (An XSLT that printed the
fields as text was slower: libxslt evaluates its templates more slowly than this walk.) pain.002 and pacs.004 are streamed the same way, as the complete children
of their message element (and the complete TxInfAndSts of a growing status block).

One module per message family (camt, pain002, pacs004, postal_returns), the shared record type and helpers in
record; this module identifies a file (plain or in a Business Application Header envelope) and dispatches it.
There is one reader path: read_returns (what reconcile reads), over iter_returns.
"""
import re
from pathlib import Path

from bank_exports.returns.camt import read_camt
from bank_exports.returns.pacs004 import read_pacs004
from bank_exports.returns.pain002 import read_pain002
from bank_exports.returns.postal_returns import POSTAL_KIND, POSTAL_STATUS, read_postal_returns
from bank_exports.returns.record import KINDS, RECORD_FIELDS, SCOPES, Context, ReturnRecord, expand_records
from bank_exports.safexml import refusal, root_of

__all__ = ["KINDS", "SCOPES", "RECORD_FIELDS", "POSTAL_KIND", "POSTAL_STATUS", "MESSAGES", "CAMT", "ReturnRecord",
           "expand_records", "read_postal_returns", "iter_returns", "read_returns"]

MESSAGES = {"CstmrPmtStsRpt": "pain.002", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrStmt": "camt.053",
            "BkToCstmrAcctRpt": "camt.052", "PmtRtr": "pacs.004"}
# ISO 20022's first versions named the message element after the message (<pain.002.001.02>) or its role and
# version (<BkToCstmrStmtV01>), later ones by role alone
NAMED_BY_VERSION = re.compile(r"(pain\.002|camt\.05[234]|pacs\.004)\.[0-9]{3}\.[0-9]{2}")
CAMT = ("camt.054", "camt.053", "camt.052")  # entries of an account, read alike (an intraday camt.052 entry
# that is not booked yet is a status record: it books nothing, the statement's booked entry does)


def _version(namespace: str, family: str) -> str:
    tail = namespace.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    tail = tail[:-4] if tail.endswith(".xsd") else tail
    return tail if tail.startswith(family) else family


def _identify(path: Path, minor_exponent) -> tuple[str, Context | None]:
    """(message family, reading context) of a file: a .csv is the postal return list, anything else XML (by its
    root element)."""
    if not path.is_file():
        raise refusal(path, None, "file not found", "check the path")
    if path.suffix.lower() == ".csv":
        return POSTAL_KIND, None
    namespace, root, message, header = root_of(path)
    by_version = NAMED_BY_VERSION.fullmatch(message or "")
    role = re.sub(r"V[0-9]{2}$", "", message or "")  # camt.05x.001.01: <BkToCstmrStmtV01>
    if root != "Document" or (role not in MESSAGES and by_version is None):
        raise refusal(path, 1, f"unexpected message <{root}><{message}> ({namespace or 'no namespace'})",
                      "give a pain.002, camt.052, camt.053, camt.054 or pacs.004 file (plain or in a Business Application "
                      "Header envelope)")
    family = MESSAGES[role] if by_version is None else by_version.group(1)
    context = Context(path, message if by_version else _version(namespace, family), minor_exponent)
    context.header, context.message_element = header, message
    return family, context


def iter_returns(path, minor_exponent: int | dict | None = None, currency: str | None = None):
    """Yield the ReturnRecords of one file: a .csv is the postal return list, anything else XML (by its root).

    Amounts are read in minor units of their currency's ISO 4217 exponent unless minor_exponent says otherwise
    (one number for every currency, or a dict by currency); `currency` is that of a file that names none (the
    postal list)."""
    path = Path(path)
    family, context = _identify(path, minor_exponent)
    if family == POSTAL_KIND:
        exponent = minor_exponent.get(currency) if isinstance(minor_exponent, dict) else minor_exponent
        yield from read_postal_returns(path, currency, exponent)
    elif family in CAMT:
        yield from read_camt(path, context).records(context)
    else:
        yield from {"pain.002": read_pain002, "pacs.004": read_pacs004}[family](path, context)


def read_returns(path, minor_exponent: int | dict | None = None, currency: str | None = None) -> list[ReturnRecord]:
    """All ReturnRecords of one file; InputError (file, line, what is wrong) for anything malformed or hostile."""
    return list(iter_returns(path, minor_exponent, currency))
