"""Column-wise IBAN/BIC/id checks agree with schwifty (the oracle) on valid and corrupted values."""
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schwifty import IBAN

from bank_exports.checks import (bic_problem_text, bics_valid, iban_problem_text, ibans_valid, ids_valid,
                                 normalise_iban, strictly_ascending)
from synthetic.identifiers import bank_accounts
from synthetic.names import COUNTRIES

VALID = ["ME25505000012345678951", "DE89370400440532013000", "CH9300762011623852957", "RS35260005601001611379",
         "UA213223130000026007233566001", "GB29NWBK60161331926819", "FR1420041010050500013M02606"]


def schwifty_says(value) -> bool:
    try:
        IBAN(value.replace(" ", "").upper() if value else value)
        return True
    except Exception:  # schwifty raises several types, and KeyError for unknown countries
        return False


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 40), st.sampled_from("0123456789AZ -x"), st.booleans())
def test_iban_check_agrees_with_schwifty(iban, position, character, delete):
    position %= len(iban)
    changed = iban[:position] + ("" if delete else character) + iban[position + 1:]
    values = [iban, changed, changed.lower(), changed[:4]]
    assert ibans_valid(pa.array(values)).tolist() == [schwifty_says(v) for v in values]


def test_generated_montenegrin_ibans_are_valid_and_nulls_are_not():
    ibans = bank_accounts(np.random.default_rng(4), COUNTRIES["me"], 300)[0].to_pylist()
    assert all(schwifty_says(iban) for iban in ibans)
    assert ibans_valid(pa.array(ibans + [None, "", "XX00"])).tolist() == [True] * 300 + [False] * 3
    assert "checksum" in iban_problem_text("ME25505000012345678952").lower()


def test_bics_and_ids():
    assert bics_valid(pa.array(["CKBCMEPG", "CKBCMEPGXXX", "CKBC", None, "ckbcmepg"])).tolist() == [
        True, True, False, False, False]
    ids = ["ME-2026-1", "a" * 35, "a" * 36, "ME/1", "", None, "Ж-1", "ME 1"]
    assert ids_valid(pa.array(ids)).tolist() == [True, True, False, False, False, False, False, False]


BIC_CASES = ["CKBCMEPG", "CKB1MEPG", "CKBCMEPGXXX", "CKB1MEPG1A2", "1KBCMEPG", "CKBC1EPG", "ckbcmepg", "CKBCMEP",
             "CKBCQQPG", "CKBC", "CKBCMEPG 1", "CKBC-MEPG"]


def test_the_register_the_catalogue_and_the_export_judge_every_bic_alike():
    """One BIC rule (formats.bank_ids.bic_reason): ISO 9362 as pain.001 writes it (digits allowed in the party
    prefix, e.g. CKB1MEPG) and schwifty's country and length checks. Before, the register refused CKB1MEPG
    while the export wrote it."""
    from formats.bank_ids import invalid_bics

    export_ok = bics_valid(pa.array(BIC_CASES)).tolist()
    refused_rows = {int(row) for rows in invalid_bics(pa.array(BIC_CASES)).values() for row in rows}
    register_ok = [row not in refused_rows for row in range(len(BIC_CASES))]
    assert export_ok == register_ok == [True, True, True, True, True, False, False, False, False, False, False,
                                        False]
    assert [bic_problem_text(value) is None for value in BIC_CASES] == export_ok
    assert "8 or 11" in bic_problem_text("CKBCMEP") and "capitals" in bic_problem_text("ckbcmepg")


@pytest.mark.parametrize("bic, accepted", [("CBC1MEPG", True), ("cbcgmepg", False), ("CBCGQQPG", False)])
def test_the_catalogue_debtor_bic_follows_the_same_rule(tmp_path, bic, accepted):
    from formats.catalogue import load_catalogue
    from formats.errors import InputError

    text = Path(load_catalogue(country="me").path).read_text(encoding="utf-8")
    assert 'debtor_bic = "CBCGMEPG"' in text
    path = tmp_path / "montenegro.toml"
    path.write_text(text.replace('debtor_bic = "CBCGMEPG"', f'debtor_bic = "{bic}"'), encoding="utf-8")
    if accepted:
        assert load_catalogue(path).payment.debtor_bic == bic
    else:
        with pytest.raises(InputError, match="invalid BIC"):
            load_catalogue(path)


def _problems_one_after_the_other(payments, debtor):
    """prepare_payments' problems as its checks found them before they ran beside the cleaning (each check
    computing its own masks, in order): the oracle of the order and content of the problems."""
    from bank_exports import payments as module

    table = module.as_table(payments)
    found = module._Collector(table)
    cleaned = module._clean_columns(table, "sepa", "sr")
    module._check_ids(found, table)
    module._check_amounts(found, table)
    bank, post = module._check_channels(found, table)
    module._check_bank(found, table, bank)
    module._check_post(found, cleaned, post)
    found.rows(~module._mask(pa.compute.is_valid(cleaned["name"])), "name",
               "payee name missing or empty after transliteration",
               "give the payee's name in Latin or Cyrillic letters")
    module._debtor_columns(found, table, (debtor,))
    return found.problems


@pytest.mark.parametrize("seed", range(3))
def test_checks_beside_the_cleaning_find_the_problems_in_the_same_order(seed):
    """prepare_payments checks ids, IBANs and BICs on a second thread while it cleans the texts: the InputError
    lists the same problems, in the same order, as the checks made one after the other."""
    import pyarrow.compute  # noqa: F401 (pa.compute in the oracle)

    from bank_exports.payments import Debtor, prepare_payments
    from formats.errors import InputError

    rng = np.random.default_rng(seed)
    n = 600
    ibans = [VALID[i % len(VALID)] for i in range(n)]
    ids = [f"ME-{i:07d}" for i in range(n)]
    bics = ["CKBCMEPG"] * n
    channel = ["post" if i % 4 == 0 else "bank" for i in range(n)]
    for i in rng.choice(n, 40, replace=False).tolist():
        ibans[i] = ibans[i][:-1] + ("0" if ibans[i][-1] != "0" else "1")
    for i in rng.choice(n, 30, replace=False).tolist():
        ids[i] = ids[int(rng.integers(0, n))] if i % 2 else f"ME/{i}"
    for i in rng.choice(n, 20, replace=False).tolist():
        bics[i] = "CKBC"
    payments = {"end_to_end_id": ids, "amount_minor": [int(a) for a in rng.integers(-5, 10_000, n)],
                "channel": channel, "name": ["Ana Marković" if i % 9 else "" for i in range(n)], "iban": ibans,
                "bic": bics, "street": ["Njegoševa 1" if i % 5 else None for i in range(n)],
                "town": ["Podgorica"] * n, "postcode": ["81000"] * n, "country": ["ME" if i % 7 else "M" for i in range(n)]}
    debtor = Debtor("Fond", VALID[0], "CKBCMEPG")
    expected = _problems_one_after_the_other(payments, debtor)
    assert len(expected) > 100 and len({p.column for p in expected}) >= 5
    with pytest.raises(InputError) as refused:
        prepare_payments(payments, debtor, __import__("datetime").date(2026, 6, 10))
    assert refused.value.problems == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="AMEZ019 aeć", max_size=6)), max_size=8))
def test_normalise_iban_is_upper_case_without_spaces_whichever_path_it_takes(values):
    """A column already in electronic form is returned as it is (no copy); any other is transformed: both give
    upper case without spaces."""
    expected = [None if value is None else value.replace(" ", "").upper() for value in values]
    assert normalise_iban(pa.array(values, pa.string())).to_pylist() == expected


def test_a_column_in_electronic_form_is_returned_as_it_is():
    column = pa.array(VALID + [None], pa.string())
    data = normalise_iban(column).buffers()[2]  # the same memory, not an equal copy
    assert data.address == column.buffers()[2].address
    chunked = pa.chunked_array([VALID[:1], VALID[1:] + [None]], pa.string())
    assert [chunk.buffers()[2].address for chunk in normalise_iban(chunked).chunks] == \
        [chunk.buffers()[2].address for chunk in chunked.chunks]
    assert normalise_iban(pa.array(["me25 5050"])).to_pylist() == ["ME255050"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="AB0-", min_size=1, max_size=3), max_size=12), st.integers(0, 12), st.booleans())
def test_strictly_ascending_only_where_no_value_repeats_and_the_order_holds(values, cut, one_width):
    if one_width:
        values = [value.ljust(3, "0") for value in values]
    column = pa.chunked_array([values[:cut], values[cut:]], pa.string())
    ordered = all(a < b for a, b in zip(values, values[1:]))
    widths = {len(value) for value in values}
    assert strictly_ascending(column) == (ordered and len(widths) <= 1)  # other widths: False (counted instead)
    if strictly_ascending(column):
        assert len(set(values)) == len(values)


def test_repeated_end_to_end_ids_are_found_sorted_or_not():
    from bank_exports.payments import _id_masks

    for ids in (["E1", "E2", "E2", "E3"], ["E3", "E1", "E3", "E2"], ["E1", "E2", "E3", "E4"]):
        table = pa.table({"end_to_end_id": pa.array(ids)})
        repeated = _id_masks(table)["id_repeated"].tolist()
        assert repeated == [ids.count(value) > 1 for value in ids]
