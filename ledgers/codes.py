"""The ledger's vocabulary: every component, account and batch kind with its explicit integer code.

Components and account kinds enter the hash chain as these integers (ledgers.canonical hashes the posting
columns as numbers), so a code, once written, means the same thing in every ledger for ever: codes are never
renumbered or reused. To add one, append a line at the end of its table with the next integer (and, for an
account, its key meaning and normal side); `db init` then records it in an existing ledger, and opening a
ledger (Ledger.require_schema) refuses one whose code table says otherwise. Batch kinds enter the batch header
as their names, so their order does not matter; add a name at the end.
"""
from formats.schemas import COMPONENTS as PAYROLL_COMPONENTS

# (code, name): the payroll's components (formats.schemas.COMPONENTS), then those only the ledger uses
COMPONENT_CODES = (
    (1, "due"),
    (2, "arrears"),
    (3, "recovery"),
    (4, "alimony"),
    (5, "damages"),
    (6, "enforcement"),
    (7, "forwarded"),
    (8, "carry_in"),
    (9, "carry_out"),
    (10, "reissue"),
    (11, "payment"),
    (12, "settlement"),
    (13, "return"),
    (14, "reject"),
    (15, "overpayment"),
    (16, "reversal"),
    (17, "opening"),
    (18, "written_off"),
    # issue 17: a maintenance advance booked on the debtor, and recovered from the debtor's own payments
    (19, "advance"),
    (20, "advance_recovery"),
    # the bank's charges taken off a returned payment (the part of it that never came back)
    (21, "charges"),
)

# (code, name, what the account key holds, normal side)
ACCOUNT_KINDS = (
    (1, "treasury_cash", "0", "debit"),
    (2, "in_transit_bank", "0", "debit"),
    (3, "in_transit_post", "0", "debit"),
    (4, "benefits_payable", "payee_id", "credit"),
    (5, "deductions_payable", "creditor payee_id", "credit"),
    (6, "overpayments_receivable", "right_id", "debit"),
    (7, "returned_awaiting_reissue", "payee_id", "credit"),
    (8, "benefit_expense", "benefit code (ledger_codes domain 'benefit')", "debit"),
    (9, "overpayments_written_off", "right_id", "debit"),  # RULES.md Readings 11: the agency's fault, not recovered
    # issue 17: maintenance advances (engine/advances.py): the claim on the debtor parent, and its contra (the part
    # of the advances' expense the fund expects back; key 0: the advances fund)
    (10, "advances_receivable", "debtor person_id", "debit"),
    (11, "advances_recoverable", "0", "credit"),
    # what banks charged on returned payments: the agency's cost, the beneficiary is re-issued the full amount
    (12, "bank_charges", "0", "debit"),
)

BATCH_KINDS = ("approve", "export", "reconcile", "settle", "reissue", "correction", "opening")

COMPONENT = {name: code for code, name in COMPONENT_CODES}
ACCOUNT = {name: code for code, name, _, _ in ACCOUNT_KINDS}
LEDGER_COMPONENTS = tuple(name for _, name in COMPONENT_CODES)  # in code order


def _check_table(codes: list[int], names: list[str], what: str) -> None:
    assert codes == list(range(1, len(codes) + 1)), f"{what} codes must run 1, 2, 3... in order (append only)"
    assert len(set(names)) == len(names), f"a {what} name is listed twice"


_check_table([code for code, _ in COMPONENT_CODES], list(LEDGER_COMPONENTS), "component")
_check_table([code for code, *_ in ACCOUNT_KINDS], list(ACCOUNT), "account")
assert set(PAYROLL_COMPONENTS) <= set(COMPONENT), \
    f"payroll components without a ledger code: {sorted(set(PAYROLL_COMPONENTS) - set(COMPONENT))} (append them)"


def code_rows() -> list[dict]:
    """The rows of the ledger's code table (domains 'component' and 'account') this isplata writes."""
    rows = [dict(domain="component", code=code, name=name) for code, name in COMPONENT_CODES]
    return rows + [dict(domain="account", code=code, name=name) for code, name, _, _ in ACCOUNT_KINDS]


def code_conflicts(found: list[dict]) -> list[str]:
    """What a ledger's code table (rows of domain, code, name) says against this module: a code with another
    name, or a name under another code, in the 'component' and 'account' domains. Codes the ledger lacks are
    not conflicts (`missing_codes`: db init appends them)."""
    ours = {(row["domain"], row["code"]): row["name"] for row in code_rows()}
    our_codes = {(row["domain"], row["name"]): row["code"] for row in code_rows()}
    problems = []
    for row in found:
        domain, code, name = row["domain"], int(row["code"]), row["name"]
        if domain not in ("component", "account"):
            continue
        if (domain, code) in ours and ours[domain, code] != name:
            problems.append(f"{domain} code {code} is {name!r} in the ledger, {ours[domain, code]!r} here")
        elif (domain, code) not in ours and (domain, name) in our_codes:
            problems.append(f"{domain} {name!r} is code {code} in the ledger, {our_codes[domain, name]} here")
    return problems


def missing_codes(found: list[dict]) -> list[dict]:
    """The code rows of this module a ledger's code table does not hold yet (codes appended since)."""
    present = {(row["domain"], int(row["code"])) for row in found}
    return [row for row in code_rows() if (row["domain"], row["code"]) not in present]
