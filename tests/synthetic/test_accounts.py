"""One IBAN maker and one BIC per bank: every account the synthetic register writes is valid for schwifty, names
its bank's BIC, and the pain.001 files of a whole cycle carry exactly that BIC for that IBAN."""
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from lxml import etree
from schwifty import IBAN

from payroll import cycle
from synthetic.identifiers import bank_accounts
from synthetic.names import COUNTRIES
from synthetic.payments import synthetic_payments
from synthetic.register import generate_register

PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


def bank_bic(country, iban: str) -> str | None:
    """The BIC the country's bank list gives the bank code inside the IBAN."""
    width = len(country.banks[0][0])
    return {code: bic for code, bic, _ in country.banks}[iban[4:4 + width]]


@pytest.mark.parametrize("code", sorted(COUNTRIES))
def test_bank_list_agrees_with_schwifty_wherever_both_name_a_bic(code):
    country = COUNTRIES[code]
    ibans, bics = bank_accounts(np.random.default_rng(1), country, 2_000)
    assert len(set(bank_bic(country, iban) for iban in ibans.to_pylist())) == len(
        {bic for _, bic, _ in country.banks})   # every bank drawn
    for iban, bic in zip(ibans.to_pylist(), bics.to_pylist()):
        known = IBAN(iban, validate_bban=True).bic
        assert bic == bank_bic(country, iban)
        if bic is not None and known is not None:
            assert bic == str(known)


def test_synthetic_payments_carry_their_banks_bic_or_none():
    payments = synthetic_payments(3_000, seed=5)
    bank = payments.filter(pc.equal(payments["channel"], "bank"))
    pairs = list(zip(bank["iban"].to_pylist(), bank["bic"].to_pylist()))
    assert all(bic is None or bic == bank_bic(COUNTRIES["me"], iban) for iban, bic in pairs)
    assert 0 < sum(bic is None for _, bic in pairs) < len(pairs) / 4
    assert all(IBAN(iban, validate_bban=True) for iban, _ in pairs)


def exported_pairs(folder) -> dict:
    """IBAN -> BIC (None when no creditor agent) of every transfer in the pain.001 files of `folder`."""
    pairs = {}
    for path in sorted(folder.glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        for transfer in root.iter(f"{{{PAIN}}}CdtTrfTxInf"):
            iban = transfer.findtext(f"{{{PAIN}}}CdtrAcct/{{{PAIN}}}Id/{{{PAIN}}}IBAN")
            bic = transfer.findtext(f"{{{PAIN}}}CdtrAgt/{{{PAIN}}}FinInstnId/{{{PAIN}}}BICFI")
            if iban is not None:
                assert pairs.setdefault(iban, bic) == bic
    return pairs


@pytest.mark.parametrize("code", sorted(COUNTRIES))
def test_every_bic_the_register_writes_is_the_one_the_export_uses_for_that_iban(tmp_path, code):
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    cycle.open_db(db, create=True).close()
    generate_register(tmp_path / "reg", 400, 3, "2025-11", country=code)
    payroll = cycle.calculate(db, tmp_path / "reg", "2025-11", "ana", store_dir=tmp_path / "store")["payroll"]
    cycle.approve(db, payroll, "marko")
    cycle.export(db, payroll, tmp_path / "out")
    exported = exported_pairs(tmp_path / "out")
    payees = pq.read_table(tmp_path / "reg" / "payees.parquet", columns=["iban", "bic"])
    registered = dict(zip(payees["iban"].to_pylist(), payees["bic"].to_pylist()))
    assert len(exported) > 50
    for iban, bic in exported.items():
        assert IBAN(iban, validate_bban=True)
        assert bic == registered[iban] == bank_bic(COUNTRIES[code], iban)
