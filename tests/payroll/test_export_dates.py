"""export's requested execution date: a business day of the country by default, `--execution-date` overrides,
the manifest records the date and the debtor account, and a re-export keeps the recorded date."""
from datetime import date

import pytest
from lxml import etree

from acceptance.test_contracts import PAYROLL, Cli, write_register
from bank_exports.calendar import business_day


@pytest.fixture()
def approved(tmp_path):
    cli = Cli(tmp_path / "isplata.db")
    reg = write_register(tmp_path / "reg")
    cli("db", "init")
    cli.json("calculate", "--data", reg, "--period", "2024-09", "--by", "ana")
    cli.json("approve", PAYROLL, "--by", "marko")
    return cli, tmp_path


def execution_dates(folder) -> set[str]:
    found = set()
    for path in folder.glob("*.xml"):
        found.update(etree.parse(str(path)).xpath("//*[local-name()='ReqdExctnDt']/*/text()"))
    return found


def test_the_default_is_a_business_day_recorded_in_the_manifest(approved):
    cli, folder = approved
    manifest = cli.json("export", PAYROLL, "--out", folder / "out")
    expected = business_day(date(2024, 10, 15), "ME").isoformat()
    assert manifest["execution_date"] == expected and execution_dates(folder / "out") == {expected}
    assert (manifest["debtor_iban"], manifest["debtor_bic"]) == ("ME25907000000000045322", "CBCGMEPG")


def test_execution_date_overrides_and_is_kept_by_a_re_export(approved):
    cli, folder = approved
    manifest = cli.json("export", PAYROLL, "--out", folder / "out", "--execution-date", "2024-10-11")
    assert manifest["execution_date"] == "2024-10-11" and execution_dates(folder / "out") == {"2024-10-11"}
    again = cli.json("export", PAYROLL, "--out", folder / "again")
    assert again["execution_date"] == "2024-10-11" and execution_dates(folder / "again") == {"2024-10-11"}
    refused = cli("export", PAYROLL, "--out", folder / "third", "--execution-date", "2024-10-14", code=2)
    assert "2024-10-11" in refused.output and not (folder / "third").exists()  # refused: no folder made


def test_the_catalogues_scheme_elements_reach_the_files(approved):
    cli, folder = approved
    cli.json("export", PAYROLL, "--out", folder / "out")
    for path in folder.glob("out/*.xml"):
        root = etree.parse(str(path))
        assert set(root.xpath("//*[local-name()='ChrgBr']/text()")) == {"SLEV"}
        assert set(root.xpath("//*[local-name()='CtgyPurp']/*/text()")) == {"SSBE"}
        assert set(root.xpath("//*[local-name()='Purp']/*/text()")) == {"SSBE"}


def test_the_remittance_says_what_the_money_is_in_the_countrys_language(approved):
    cli, folder = approved
    cli.json("export", PAYROLL, "--out", folder / "out")
    texts = set()
    for path in folder.glob("out/*.xml"):
        texts.update(etree.parse(str(path)).xpath("//*[local-name()='Ustrd']/text()"))
    assert texts and all(text.endswith(" za 09/2024") and len(text) <= 140 for text in texts)
    assert any(text.startswith("Materijalno obezbjedjenje") for text in texts)  # transliterated for the file


def test_an_export_that_commits_meanwhile_with_another_date_wins_and_the_other_publishes_nothing(approved,
                                                                                              monkeypatch):
    """Officer B's export checked the date before the lock; officer A's export with another date commits while
    B writes its files. B is refused inside the lock and its files never appear (the bank has A's)."""
    from payroll import cycle, payment_export

    cli, folder = approved
    db = f"sqlite:///{folder / 'isplata.db'}"
    staging_folder, raced = payment_export.staging_folder, []

    def officer_a_meanwhile(target, identifier):
        if not raced:
            raced.append("started")  # A's own export passes through here too
            raced.append(cycle.export(db, identifier, folder / "a", execution_date=date(2024, 10, 10)))
        return staging_folder(target, identifier)

    monkeypatch.setattr(payment_export, "staging_folder", officer_a_meanwhile)
    with pytest.raises(cycle.Refused, match="2024-10-10"):
        cycle.export(db, PAYROLL, folder / "b", execution_date=date(2024, 10, 14))
    assert raced[1]["execution_date"] == "2024-10-10" and execution_dates(folder / "a") == {"2024-10-10"}
    assert not list((folder / "b").glob("*.xml")) and not (folder / "b" / "manifest.json").exists()


def test_each_payments_remittance_names_its_benefits_in_the_order_of_its_lines(approved):
    """Column-wise texts equal a plain-Python reading of the lines, also for lines in another order (a payment
    with benefits A, B, A names A, B) and for references the lines do not have (the payroll's id)."""
    import numpy as np
    import pyarrow as pa

    from formats.catalogue import load_catalogue
    from payroll import remittance, store
    from payroll.session import open_db

    _, folder = approved
    ledger = open_db(f"sqlite:///{folder / 'isplata.db'}")
    with ledger.engine.connect() as conn:
        record = store.get_payroll(conn, PAYROLL)
    ledger.close()
    catalogue = load_catalogue(record.catalogue_path)
    names = {benefit.code: benefit.name for benefit in catalogue.benefits}
    lines = store.read_lines(record, columns=["payment_ref", "benefit"])
    expected = {}
    for ref, benefit in zip(lines["payment_ref"].to_pylist(), lines["benefit"].to_pylist()):
        if ref is not None and names[benefit] not in expected.setdefault(ref, []):
            expected[ref].append(names[benefit])
    refs = sorted(expected) + ["NOT-PAID"]
    texts = remittance.remittance_column(record, catalogue, pa.array(refs)).to_pylist()
    assert texts == [", ".join(expected[ref]) + " za 09/2024" for ref in refs[:-1]] + [f"{PAYROLL} za 09/2024"]
    made = remittance._texts_per_payment(np.array([0, 0, 0, 1, 2]), np.array([1, 0, 1, 2, 2]), ["B", "A", "C"], " x")
    assert made.to_pylist() == ["A, B x", "C x", "C x"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_remittance_texts_packed_rows_equal_the_rows_compared_as_bytes(seed):
    """_texts_per_payment packs each payment's benefit sequence into one int64 when it fits: the texts must be
    those of the general path (rows compared as bytes), on shuffled sequences of many benefits and widths."""
    import numpy as np

    from payroll import remittance

    rng = np.random.default_rng(seed)
    names = [f"B{n}" for n in range(int(rng.integers(1, 40)))]
    per_payment = rng.integers(1, 9, size=3000)
    payment = np.repeat(np.arange(per_payment.shape[0]), per_payment)
    benefit = rng.integers(0, len(names), size=payment.shape[0])
    packed = remittance._texts_per_payment(payment, benefit, names, " za 05/2026")
    general = remittance._texts_per_payment(payment, benefit, names, " za 05/2026", packed=False)
    assert packed.to_pylist() == general.to_pylist()
    assert len(set(packed.to_pylist())) > 50  # many distinct texts: the packing is really exercised
    expected = []
    for number in range(per_payment.shape[0]):
        seen = []
        for code in benefit[payment == number]:
            if names[code] not in seen:
                seen.append(names[code])
        expected.append(", ".join(seen) + " za 05/2026")
    assert packed.to_pylist() == expected


def test_distinct_rows_past_int64_fall_back_to_bytes():
    """Rows whose packed key would not fit an int64 are compared as bytes, with the same grouping."""
    import numpy as np

    from payroll import remittance

    sequence = np.array([[1, 2] * 20, [1, 2] * 20, [2, 1] * 20, [-1] * 40], np.int16)
    firsts, inverse = remittance._distinct_rows(sequence, 3000)
    assert inverse.tolist()[0] == inverse.tolist()[1] and len(set(inverse.tolist())) == 3
    assert sorted(sequence[firsts].tolist()) == sorted([[1, 2] * 20, [2, 1] * 20, [-1] * 40])


@pytest.mark.parametrize("packed", [True, False])
def test_distinct_rows_give_each_rows_group_and_a_row_of_each_group(packed):
    """Hashed (packed keys) or sorted (bytes): rows of one group are equal, rows of two groups differ, and each
    group's row index is a row of that group (the first one when hashed)."""
    import numpy as np

    from payroll import remittance

    rng = np.random.default_rng(7)
    sequence = rng.integers(-1, 3, size=(5000, 4)).astype(np.int16)
    firsts, inverse = remittance._distinct_rows(sequence, 4, packed)
    distinct = {tuple(row) for row in sequence.tolist()}
    assert len(firsts) == len(distinct) and inverse.shape == (5000,)
    assert [tuple(row) for row in sequence[firsts][inverse].tolist()] == [tuple(row) for row in sequence.tolist()]
    if packed:
        first_seen = {}
        for number, row in enumerate(sequence.tolist()):
            first_seen.setdefault(tuple(row), number)
        assert sorted(firsts.tolist()) == sorted(first_seen.values())


def test_remittance_texts_come_as_a_dictionary_and_unknown_payments_get_the_fallback():
    """column_for gives each payment's text as indices into the distinct texts (no string per payment); a payment
    none of the lines names gets the payroll's own text."""
    import numpy as np
    import pyarrow as pa

    from bank_exports.payments import as_table
    from payroll import remittance

    per_payment = remittance._texts_per_payment(np.array([0, 0, 1]), np.array([0, 1, 1]), ["A", "B"], " x")
    texts = remittance.RemittanceTexts(np.array([b"P1", b"P2"], "S35"), per_payment, "R x")
    column = texts.column_for(pa.array(["P2", "P0", "P1"]))
    assert pa.types.is_dictionary(column.type) and len(column.dictionary) <= 3
    assert column.to_pylist() == ["B x", "R x", "A, B x"]
    assert texts.column_for(pa.array(["P1", "P2"])).to_pylist() == ["A, B x", "B x"]
    assert remittance.RemittanceTexts(np.zeros(0, "S35"), None, "R x").column_for(pa.array(["P1"])).to_pylist() == \
        ["R x"]
    payments = as_table({"end_to_end_id": ["P2"], "amount_minor": [1], "channel": ["bank"], "name": ["N"],
                         "remittance": column.slice(0, 1)})
    assert pa.types.is_dictionary(payments["remittance"].type)  # kept for clean_text, not decoded per payment


def test_a_long_remittance_keeps_its_month():
    """The file's writer cuts Ustrd at 140 characters once transliterated: the benefits that do not fit give way
    to "...", the month stays (Ukrainian transliteration lengthens a text: щ -> shch)."""
    from bank_exports.text import to_sepa_latin
    from payroll import remittance

    names = ["Materijalno obezbjeđenje porodice", "Dodatak za njegu i pomoć", "Lična invalidnina", "Dječiji dodatak",
             "Naknada roditelju njegovatelju", "Jednokratna novčana pomoć"]
    text = remittance.fitted(names, " za 01/2025")
    assert text == ", ".join(names[:4]) + ", ... za 01/2025"
    assert remittance.fitted(names[:2], " za 01/2025") == ", ".join(names[:2]) + " za 01/2025"
    long = "Державна соціальна допомога щ" + " щоденна" * 20
    text = remittance.fitted([long, "Допомога"], " за 01/2025", "uk")
    latin = to_sepa_latin([text], "uk")[0]
    assert latin.endswith(" ... za 01/2025") and len(latin) <= remittance.REMITTANCE_CHARS
