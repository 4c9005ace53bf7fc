"""One vocabulary of codes (ledgers.codes): explicit integers, checked against a ledger's code table when it is
opened, and a known-answer batch hash that no change of canonical form or of a code can pass unnoticed."""
import numpy as np
import pytest

from formats.errors import UserError
from formats.schemas import COMPONENTS as PAYROLL_COMPONENTS
from ledgers import canonical, codes, open_ledger
from ledgers import schema as ledger_schema

# The known answer: a batch of four postings and two payments, hashed by the canonical form (posting columns,
# header JSON, Merkle tree) with today's codes. A change to any of them changes these digests: such a change
# breaks every existing ledger's chain and must be a new HASH_DOMAIN, never a silent edit.
KNOWN_POSTINGS_SHA256 = "0483509a855f0f58fb723dac094ba596765f13f2e3f870ba82bf71ea013106a2"
KNOWN_MERKLE_ROOT = "a080cb37f2d6774ecb135bdbbce0ace78f4eef1fdea40b89e39e9ba8c44a8d7c"
KNOWN_BATCH_HASH = "98a9c09a0420ab80bd9d5cd370b026158ae284f6f5fb9cfe5cf8d88a210552e0"


def small_batch() -> tuple[dict, dict, dict]:
    account, component = codes.ACCOUNT, codes.COMPONENT
    refs = np.array(["ISP-660-000000001", "ISP-660-000000002"])
    postings = {
        "posting_id": np.arange(1, 5), "batch_id": np.ones(4, np.int64),
        "account_kind": np.array([account["benefit_expense"], account["benefits_payable"],
                                  account["benefit_expense"], account["benefits_payable"]]),
        "account_key": np.array([3, 1001, 3, 1002]), "right_id": np.array([1, 1, 2, 2]),
        "payee_id": np.array([1001, 1001, 1002, 1002]), "period": np.full(4, 660),
        "month": np.array([660, 660, 659, 659]),
        "component": np.array([component["due"], component["due"], component["arrears"], component["arrears"]]),
        "amount_minor": np.array([12_345, -12_345, 700, -700]),
        "payment_ref": canonical.refs_to_fixed(np.repeat(refs, 2)),
    }
    payments = {"payment_ref": canonical.refs_to_fixed(refs), "payee_id": np.array([1001, 1002]),
                "amount_minor": np.array([12_345, 700])}
    header = {"batch_id": 1, "kind": "approve", "source_id": "PR-660", "period": 660, "booked_on": 20_089,
              "created_us": 1_735_000_000_000_000, "first_posting": 1, "n_postings": 4, "n_payments": 2,
              "debit_minor": 13_045}
    return postings, payments, header


def known_answers() -> tuple[str, str, str]:
    postings, payments, header = small_batch()
    digest = canonical.postings_sha256(postings)
    root = canonical.merkle_root(payments["payment_ref"], payments["payee_id"], payments["amount_minor"])
    return digest, root, canonical.batch_hash(canonical.GENESIS_HASH, header, digest, root)


def test_a_small_batch_hashes_to_its_known_answer():
    assert known_answers() == (KNOWN_POSTINGS_SHA256, KNOWN_MERKLE_ROOT, KNOWN_BATCH_HASH)


def test_a_renumbered_code_changes_the_known_answer(monkeypatch):
    swapped = {**codes.COMPONENT, "due": codes.COMPONENT["arrears"], "arrears": codes.COMPONENT["due"]}
    monkeypatch.setattr(codes, "COMPONENT", swapped)
    assert known_answers()[0] != KNOWN_POSTINGS_SHA256


def test_codes_are_explicit_append_only_and_name_every_payroll_component():
    assert [code for code, _ in codes.COMPONENT_CODES] == list(range(1, len(codes.COMPONENT_CODES) + 1))
    assert [code for code, *_ in codes.ACCOUNT_KINDS] == list(range(1, len(codes.ACCOUNT_KINDS) + 1))
    assert set(PAYROLL_COMPONENTS) <= set(codes.COMPONENT)
    assert ledger_schema.COMPONENT is codes.COMPONENT and ledger_schema.ACCOUNT is codes.ACCOUNT


def test_opening_a_ledger_checks_its_code_table(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    fewer = [row for row in codes.code_rows() if row != {"domain": "component", "code": 18, "name": "written_off"}]
    monkeypatch.setattr(ledger_schema, "code_rows", lambda: fewer)  # a ledger made before code 18 was appended
    book = open_ledger(url)
    book.init()
    monkeypatch.undo()
    with pytest.raises(UserError, match="lacks codes.*component written_off.*db init"):
        book.require_schema()
    book.init()  # db init records the appended code
    book.require_schema()
    assert book.code_names("component")[18] == "written_off"
    book.close()


def test_a_ledger_whose_codes_mean_something_else_is_refused(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    swap = {"due": "arrears", "arrears": "due"}
    other = [dict(row, name=swap.get(row["name"], row["name"])) for row in codes.code_rows()]
    monkeypatch.setattr(ledger_schema, "code_rows", lambda: other)
    book = open_ledger(url)
    book.init()
    monkeypatch.undo()
    with pytest.raises(UserError, match="component code 1 is 'arrears' in the ledger, 'due' here"):
        book.require_schema()
    with pytest.raises(UserError, match="disagree"):
        book.init()
    book.close()
