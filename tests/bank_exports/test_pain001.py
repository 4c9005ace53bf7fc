"""pain.001.001.09: TRF and CHK content, splitting, control totals from integers, refusals before writing,
byte-identical reruns and golden files (fixed clock). Every file written here is XSD-checked by `out_dir`."""
import os
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bank_exports.files import sha256_of
from bank_exports.pain001 import write_pain001
from bank_exports.payments import Debtor
from formats.amounts import format_amount, format_amounts, parse_amount
from formats.errors import InputError
from synthetic.payments import synthetic_payments

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "iso20022" / "golden"
REGENERATE = os.environ.get("ISPLATA_REGEN_GOLDEN") == "1"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def parse(path: Path):
    return etree.parse(str(path)).getroot()


def texts(root, path: str) -> list[str]:
    return [element.text for element in root.xpath(path, namespaces=NS)]


def small_payments() -> dict:
    """Four payments a reviewer can read: two bank (one without BIC), two postal (one in Cyrillic)."""
    return {
        "end_to_end_id": ["ME202605-0000001", "ME202605-0000002", "ME202605-0000003", "ME202605-0000004"],
        "amount_minor": np.array([12_345, 100, 987_654, 5_001], dtype=np.int64),
        "channel": ["bank", "bank", "post", "post"],
        "name": ["Đorđe Šćekić", "Milica Vujošević & sin", "Јована Ђурђевић", "Śćepan Źarić"],
        "iban": ["ME25505000012345678951", "ME25520042000000000109", None, None],
        "bic": ["CKBCMEPG", None, None, None],
        "street": [None, None, "Његошева", "Bulevar Svetog Petra Cetinjskog"],
        "house_number": [None, None, "12a", "7"],
        "postcode": [None, None, "81000", "81250"],
        "town": [None, None, "Подгорица", "Cetinje"],
        "district": [None, None, None, "Cetinje"],
        "region": [None, None, "Središnja regija", None],
        "country": ["ME", "ME", "ME", "ME"],
        "remittance": ["Materijalno obezbjeđenje 05/2026", None, "Dječji dodatak 05/2026", None],
    }


def test_transfers_and_cash_payments_carry_the_right_elements(out_dir, debtor, options):
    result = write_pain001(small_payments(), out_dir, debtor, options)
    bank, post = (parse(out_dir / file.name) for file in result.files)
    assert texts(bank, "//p:PmtInf/p:PmtMtd") == ["TRF"]
    assert texts(bank, "//p:CdtrAcct/p:Id/p:IBAN") == ["ME25505000012345678951", "ME25520042000000000109"]
    assert texts(bank, "//p:CdtTrfTxInf/p:CdtrAgt/p:FinInstnId/p:BICFI") == ["CKBCMEPG"]
    assert texts(bank, "//p:Cdtr/p:Nm") == ["Djordje Scekic", "Milica Vujosevic + sin"]
    assert texts(post, "//p:PmtInf/p:PmtMtd") == ["CHK"]
    assert post.xpath("//p:CdtrAcct | //p:CdtTrfTxInf/p:CdtrAgt", namespaces=NS) == []
    assert texts(post, "//p:ChqInstr/p:ChqTp") == ["BCHQ", "BCHQ"]
    assert texts(post, "//p:ChqInstr/p:DlvryMtd/p:Cd") == ["MLCD", "MLCD"]
    assert texts(post, "//p:Cdtr/p:Nm") == ["Jovana Djurdjevic", "Scepan Zaric"]
    assert texts(post, "//p:Cdtr/p:PstlAdr/p:StrtNm") == ["Njegoseva", "Bulevar Svetog Petra Cetinjskog"]
    assert texts(post, "//p:Cdtr/p:PstlAdr/p:TwnNm") == ["Podgorica", "Cetinje"]
    assert texts(post, "//p:RmtInf/p:Ustrd") == ["Djecji dodatak 05/2026"]


def test_pick_up_delivery_and_debtor_without_bic(out_dir, options):
    debtor = Debtor("Fond", "ME25505000012345678951")
    write_pain001(small_payments(), out_dir, debtor, replace(options, cheque_delivery="PUCD"))
    post = parse(out_dir / "ME-202605-R1-P001.xml")
    assert texts(post, "//p:ChqInstr/p:DlvryMtd/p:Cd") == ["PUCD", "PUCD"]
    assert texts(post, "//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"]


def test_control_totals_equal_integer_sums_in_every_file_and_block(out_dir, debtor, options):
    payments = synthetic_payments(1_000, seed=3)
    result = write_pain001(payments, out_dir, debtor, replace(options, max_per_file=300, max_per_pmt_inf=70))
    amounts = dict(zip(payments["end_to_end_id"].to_pylist(), payments["amount_minor"].to_pylist()))
    assert sum(file.nb_of_txs for file in result.files) == 1_000
    assert sum(file.ctrl_sum_minor for file in result.files) == sum(amounts.values())
    for file in result.files:
        root = parse(out_dir / file.name)
        ids = texts(root, "//p:EndToEndId")
        assert len(ids) == file.nb_of_txs <= 300
        assert texts(root, "/p:Document/*/p:GrpHdr/p:NbOfTxs") == [str(file.nb_of_txs)]
        assert texts(root, "/p:Document/*/p:GrpHdr/p:CtrlSum") == [format_amount(file.ctrl_sum_minor)]
        assert file.ctrl_sum_minor == sum(amounts[e2e] for e2e in ids)
        for block in root.xpath("//p:PmtInf", namespaces=NS):
            block_ids = texts(block, "p:CdtTrfTxInf/p:PmtId/p:EndToEndId")
            assert 1 <= len(block_ids) <= 70
            assert texts(block, "p:NbOfTxs") == [str(len(block_ids))]
            assert parse_amount(texts(block, "p:CtrlSum")[0]) == sum(amounts[e2e] for e2e in block_ids)
            shown = [parse_amount(text) for text in texts(block, "p:CdtTrfTxInf/p:Amt/p:InstdAmt")]
            assert shown == [amounts[e2e] for e2e in block_ids]


def test_split_by_execution_date_and_debtor(out_dir, debtor, options):
    payments = small_payments()
    payments["execution_date"] = pa.array([date(2026, 6, 2), None, None, date(2026, 6, 2)], pa.date32())
    other = Debtor("Opstina", "ME25520042000000000109", None)
    payments["debtor_iban"] = [None, other.iban, None, None]
    result = write_pain001(payments, out_dir, [debtor, other], options)
    bank = parse(out_dir / result.files[0].name)
    blocks = [(texts(b, "p:ReqdExctnDt/p:Dt")[0], texts(b, "p:DbtrAcct/p:Id/p:IBAN")[0],
               texts(b, "p:CdtTrfTxInf/p:PmtId/p:EndToEndId")) for b in bank.xpath("//p:PmtInf", namespaces=NS)]
    assert blocks == [("2026-06-01", other.iban, ["ME202605-0000002"]),
                      ("2026-06-02", debtor.iban, ["ME202605-0000001"])]
    post = parse(out_dir / result.files[1].name)
    assert texts(post, "//p:PmtInf/p:ReqdExctnDt/p:Dt") == ["2026-06-01", "2026-06-02"]
    assert result.assignments["pmt_inf_id"].to_pylist() == [
        "ME-202605-R1-B001-001", "ME-202605-R1-B001-002", "ME-202605-R1-P001-001", "ME-202605-R1-P001-002"]


def test_rerun_is_byte_identical(tmp_path, debtor, options):
    first = write_pain001(synthetic_payments(500, seed=9), tmp_path / "a", debtor, options)
    second = write_pain001(synthetic_payments(500, seed=9), tmp_path / "b", debtor, options)
    assert [f.sha256 for f in first.files] == [f.sha256 for f in second.files]
    for file in first.files:
        assert (tmp_path / "a" / file.name).read_bytes() == (tmp_path / "b" / file.name).read_bytes()
        assert sha256_of(tmp_path / "a" / file.name) == file.sha256


def test_whole_dinars_are_written_with_two_decimals_and_yen_with_none(out_dir, debtor, options):
    payments = small_payments()
    result = write_pain001(payments, out_dir, debtor,
                           replace(options, currency="RSD", minor_exponent=0, charset="unicode"))
    bank = parse(out_dir / result.files[0].name)
    # whole dinars in the ledger, written with the two decimals of ISO 4217 and the NBS payment instructions
    assert texts(bank, "//p:InstdAmt") == ["12345.00", "100.00"]
    assert texts(bank, "//p:Cdtr/p:Nm") == ["Đorđe Šćekić", "Milica Vujošević & sin"]
    assert texts(bank, "//p:GrpHdr/p:CtrlSum") == ["12445.00"]
    assert result.files[0].ctrl_sum_minor == 12445  # the ledger's units
    result = write_pain001(payments, out_dir / "jpy", debtor, replace(options, currency="JPY", minor_exponent=0))
    assert texts(parse(out_dir / "jpy" / result.files[0].name), "//p:InstdAmt") == ["12345", "100"]


def test_names_are_cut_to_schema_limits(out_dir, debtor, options):
    payments = small_payments()
    payments["name"] = ["Ж" * 200, "Petar Petrović Njegoš " * 5, "Ana", "Vuk"]
    payments["town"] = [None, None, "Tivat Kotor Budva Bar Ulcinj Herceg Novi", "Bar"]
    write_pain001(payments, out_dir, debtor, options)
    bank, post = parse(out_dir / "ME-202605-R1-B001.xml"), parse(out_dir / "ME-202605-R1-P001.xml")
    names = texts(bank, "//p:Cdtr/p:Nm")
    assert [len(name) for name in names] == [70, 65]  # EPC's 70: one long word cut, else at a word boundary
    assert names[1] == ("Petar Petrovic Njegos " * 3).strip()
    assert texts(post, "//p:TwnNm") == ["Tivat Kotor Budva Bar Ulcinj Herceg", "Bar"]  # 35 at most, whole words


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**13), min_size=1, max_size=20), st.integers(0, 3))
def test_vectorised_amounts_match_engine_money(amounts, exponent):
    rendered = format_amounts(pa.array(amounts, pa.int64()), exponent).to_pylist()
    assert rendered == [format_amount(amount, exponent) for amount in amounts]


def refused(tmp_path, payments, debtor, options) -> list:
    folder = tmp_path / "refused"
    with pytest.raises(InputError) as caught:
        write_pain001(payments, folder, debtor, options)
    assert not folder.exists() or not any(folder.iterdir()), "nothing may be written on refusal"
    return caught.value.problems


@pytest.mark.parametrize("column, value, rule", [
    ("amount_minor", 0, "amount must be > 0"),
    ("amount_minor", -5, "amount must be > 0"),
    ("iban", "ME25505000012345678952", "invalid IBAN"),
    ("bic", "CKBC", "BIC"),
    ("end_to_end_id", "ME/202605/1", "only letters"),
    ("end_to_end_id", "X" * 36, "1-35 characters"),
    ("end_to_end_id", "ME202605-0000002", "more than one payment"),
])
def test_bad_payment_is_refused_naming_it(tmp_path, debtor, options, column, value, rule):
    payments = small_payments()
    payments[column] = list(payments[column])
    payments[column][0] = value
    problems = refused(tmp_path, payments, debtor, options)
    assert any(rule in p.rule and p.row == 1 and p.column == column for p in problems), problems
    assert all(p.file == "payments" for p in problems)


def test_postal_payment_without_address_and_unwritable_name_are_refused(tmp_path, debtor, options):
    payments = small_payments()
    payments["street"] = [None, None, None, "Slobode"]
    payments["name"] = ["日本", "Ana", "Vuk", "Iva"]
    problems = refused(tmp_path, payments, debtor, options)
    assert {(p.row, p.column) for p in problems} == {(3, "street"), (1, "name")}


def test_bad_options_and_debtor_are_refused(tmp_path, options):
    bad = Debtor("Fond", "ME00505000012345678951", "XX")
    problems = refused(tmp_path, small_payments(), bad, replace(options, msg_id_prefix="X" * 27, currency="eur",
                                                                charset="latin9", cheque_delivery="MLFA"))
    assert {p.column for p in problems} == {"msg_id_prefix", "currency", "charset", "cheque_delivery"}
    problems = refused(tmp_path, small_payments(), bad, options)
    assert [p.column for p in problems] == ["debtor", "debtor"]


def test_missing_column_is_refused(tmp_path, debtor, options):
    payments = small_payments()
    del payments["amount_minor"]
    problems = refused(tmp_path, payments, debtor, options)
    assert [p.column for p in problems] == ["amount_minor"]


def test_golden_files(out_dir, debtor, options):
    result = write_pain001(small_payments(), out_dir, debtor, replace(options, max_per_pmt_inf=1))
    for file in result.files:
        golden = GOLDEN / file.name
        if REGENERATE:
            golden.write_bytes((out_dir / file.name).read_bytes())
        assert (out_dir / file.name).read_bytes() == golden.read_bytes(), f"{file.name} differs from golden"


def test_too_many_blocks_for_35_character_ids_is_refused_before_writing(tmp_path, debtor, options):
    payments = synthetic_payments(1_300, seed=4)  # 1,040 transfers: PmtInfId "...-B001-1040"
    long_prefix = replace(options, msg_id_prefix="M" * 26, max_per_pmt_inf=1)
    problems = refused(tmp_path, payments, debtor, long_prefix)
    assert [p.column for p in problems] == ["max_per_pmt_inf"]
    assert "longer than 35" in problems[0].rule


def test_validate_option_checks_each_file_before_it_is_renamed(out_dir, debtor, options):
    result = write_pain001(small_payments(), out_dir, debtor, replace(options, validate=True))
    assert sorted(p.name for p in out_dir.iterdir()) == [f.name for f in result.files]


def test_every_file_is_xsd_validated_by_default_and_an_invalid_one_leaves_nothing(tmp_path, debtor, options,
                                                                                   monkeypatch):
    from bank_exports import pain001
    from bank_exports.xsd import SchemaViolation, assert_valid

    assert pain001.Pain001Options("X", "EUR", options.created_at, options.execution_date).validate
    seen = []

    lock = threading.Lock()

    def checked(path):
        assert_valid(path)  # the real check runs on the written (not yet renamed) file
        with lock:
            seen.append(Path(path).name)
            second = len(seen) == 2
        if second:
            raise SchemaViolation(f"{Path(path).name}:1: pretend the writer broke the schema")

    monkeypatch.setattr(pain001, "assert_valid", checked)
    folder = tmp_path / "out"
    with pytest.raises(SchemaViolation):
        write_pain001(small_payments(), folder, debtor, options)
    assert sorted(seen) == ["ME-202605-R1-B001.xml.part", "ME-202605-R1-P001.xml.part"]  # threads: any order
    assert not any(folder.iterdir()), "no file (final or partial) may stay when one file is invalid"
    seen.clear()
    monkeypatch.setattr(pain001, "assert_valid", lambda path: seen.append(Path(path).name))
    result = write_pain001(small_payments(), folder, debtor, replace(options, validate=False))
    assert seen == [] and sorted(p.name for p in folder.iterdir()) == [f.name for f in result.files]


def test_scheme_elements_are_written_and_the_file_stays_xsd_valid(out_dir, debtor, options):
    scheme = replace(options, service_level="SEPA", charge_bearer="SLEV", category_purpose="SSBE",
                     purpose="SSBE", scheme="EPC-SCT")
    write_pain001(small_payments(), out_dir, debtor, scheme)  # conftest validates every file against its XSD
    bank, post = parse(out_dir / "ME-202605-R1-B001.xml"), parse(out_dir / "ME-202605-R1-P001.xml")
    assert texts(bank, "//p:PmtInf/p:PmtTpInf/p:SvcLvl/p:Cd") == ["SEPA"]
    assert texts(post, "//p:PmtInf/p:PmtTpInf/p:SvcLvl/p:Cd") == []  # a postal cheque is no SEPA transfer
    for root in (bank, post):
        assert texts(root, "//p:PmtInf/p:ChrgBr") == ["SLEV"]
        assert texts(root, "//p:PmtInf/p:PmtTpInf/p:CtgyPurp/p:Cd") == ["SSBE"]
        assert set(texts(root, "//p:CdtTrfTxInf/p:Purp/p:Cd")) == {"SSBE"}


@pytest.mark.parametrize("change, field", [(dict(currency="RSD", minor_exponent=0), "currency"),
                                           (dict(charge_bearer="SHAR"), "charge_bearer"),
                                           (dict(service_level=None), "service_level"),
                                           (dict(charset="unicode"), "charset")])
def test_a_named_scheme_s_rules_are_checked_before_anything_is_written(out_dir, debtor, options, change, field):
    scheme = replace(options, **{**dict(service_level="SEPA", charge_bearer="SLEV", scheme="EPC-SCT"), **change})
    with pytest.raises(InputError) as caught:
        write_pain001(small_payments(), out_dir, debtor, scheme)
    assert [p.column for p in caught.value.problems] == [field] and "EPC-SCT" in caught.value.problems[0].rule
    assert not list(out_dir.iterdir())


def test_threaded_validation_refuses_a_really_invalid_file_and_writes_the_same_bytes_as_without_it(
        tmp_path, debtor, options, monkeypatch):
    """Many files validated on the validation threads by lxml itself (no stand-in validator): one file that breaks
    the schema refuses the whole export, names that file and leaves nothing; valid files are byte for byte those
    written without validation, whatever the threads' timing."""
    from bank_exports import pain001
    from bank_exports.xsd import SchemaViolation

    payments = synthetic_payments(3_000, seed=11, post_share=0.2)
    many = replace(options, max_per_file=400, max_per_pmt_inf=150)
    plain = write_pain001(payments, tmp_path / "plain", debtor, replace(many, validate=False))
    checked = write_pain001(payments, tmp_path / "checked", debtor, many)
    assert len(checked.files) >= 7 and checked.files == plain.files  # names, hashes, counts, sums
    for entry in checked.files:
        assert sha256_of(tmp_path / "checked" / entry.name) == sha256_of(tmp_path / "plain" / entry.name)
    header = pain001._payment_info_header

    def broken(pmt_inf_id, *args):  # one block of the third bank file says BtchBookg "maybe" (an xs:boolean)
        text = header(pmt_inf_id, *args)
        return text.replace("<BtchBookg>true", "<BtchBookg>maybe") if pmt_inf_id == "ME-202605-R1-B003-002" \
            else text

    monkeypatch.setattr(pain001, "_payment_info_header", broken)
    with pytest.raises(SchemaViolation, match=r"ME-202605-R1-B003\.xml\.part:\d+: .*BtchBookg"):
        write_pain001(payments, tmp_path / "broken", debtor, many)
    assert not any((tmp_path / "broken").iterdir()), "no file (final or partial) may stay"
