"""`isplata rules show`: every benefit of the research file for each country is accounted for (encoded, or left
to a formula kind that does not exist yet), statuses and sources are shown, and --json has stable keys."""
import json

import pytest
from click.testing import CliRunner

from cli.main import main

OUT = "not a cash benefit to a person"

# shared/research/benefits-catalogue.md, row by row: the code that encodes it, or why it is not here
RESEARCH_ROWS = {
    "me": {1: "ME_MO", 2: "ME_MO_FOSTER", 3: "ME_LI", 4: "ME_DNJP", 5: "ME_NJEG", 6: "ME_SAHRANA", 7: "ME_JEDNOKRATNA",
           8: "ME_NOVOROD", 9: "ME_DD", 10: "ME_MAT", 11: "ME_REFUND_ZARADE", 12: "ME_REFUND_POLOVINA", 13: "ME_OBESTECENJE",
           14: "ME_RODITELJ_SMETNJE", 15: OUT, 16: OUT, 17: "ME_MO_RASELJENI", 18: "ME_HRANITELJSTVO", 19: "ME_ALIMENTACIONI",
           20: "ME_BOR_LI", 21: "ME_BOR_NJEGA", 22: "ME_BOR_PORODICNA", 23: "ME_BOR_MO", 24: "ME_BOR_ORTOPEDSKI",
           25: "ME_BOR_POGREB"},
    "rs": {1: "RS_NSP", 2: "RS_DODATAK_NEGA", 3: "RS_UVECANI_DODATAK", 4: "RS_POSEBNA_NAKNADA", 5: "RS_OSPOSOBLJAVANJE",
           6: "RS_JEDNOKRATNA", 7: "RS_NAKNADA_ZARADE", 8: "RS_OSTALE_NAKNADE", 9: "RS_RODITELJSKI", 10: "RS_RODITELJSKI", 11: "RS_RODITELJSKI",
           12: "RS_STAN", 13: "RS_DD", 14: OUT, 15: "a draft law, not in force"},
    "ua": {1: "UA_DSD", 2: "UA_VAGITNIST", 3: "UA_NARODZH", 4: "UA_DOGLYAD_1", 5: "UA_YASLA", 6: "UA_PAKUNOK_SHKOLYARA",
           7: "UA_PAKUNOK_MALYUKA", 8: "UA_USYNOVLENNYA", 9: "UA_OPIKA", 10: "UA_ODYN", 11: "UA_TYMCH", 12: "UA_INV_DYTYNSTVA",
           13: "UA_BEZ_PENSII", 14: "UA_HVORA_DYTYNA", 15: "UA_PRYIOMNI", 16: "UA_KOMPENS_DOGLYAD", 17: "UA_VPO", 18: "UA_SUBS", 19: "UA_PILHY_ZHKP", 20: "UA_POHOV"},
}
RESEARCH_ROW_COUNTS = {"me": 25, "rs": 15, "ua": 20}
CASH_ROWS = {"me": 23, "rs": 14, "ua": 20}   # ME #15/#16 are paid to institutions, RS #14 too
UNPRICED = {"ME_OBESTECENJE", "ME_RODITELJ_SMETNJE", "ME_MO_RASELJENI", "ME_HRANITELJSTVO", "ME_BOR_ORTOPEDSKI",
            "ME_BOR_POGREB", "RS_DODATAK_NEGA", "RS_POSEBNA_NAKNADA", "RS_OSPOSOBLJAVANJE", "RS_STAN",
            "UA_PAKUNOK_MALYUKA", "UA_USYNOVLENNYA", "UA_BEZ_PENSII", "ME_REFUND_ZARADE", "RS_NAKNADA_ZARADE",
            "ME_ALIMENTACIONI", "ME_JEDNOKRATNA", "ME_REFUND_POLOVINA", "RS_JEDNOKRATNA", "RS_OSTALE_NAKNADE",
            "UA_HVORA_DYTYNA", "UA_KOMPENS_DOGLYAD", "ME_BOR_MO", "UA_PILHY_ZHKP"}
CATALOGUE_KEYS = {"country", "name", "currency", "minor_exponent", "path", "sha256", "sources", "bases", "benefits"}
BENEFIT_KEYS = {"code", "name", "kind", "status", "unpriced", "note", "parameters"}
LINE_KEYS = {"valid_from", "values", "values_minor", "unit", "source", "ref", "title", "status", "reason", "note",
             "base", "percent_bp"}


def run(*args):
    return CliRunner().invoke(main, ["rules", "show", *args])


def shown(*args) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("country", ["me", "rs", "ua"])
def test_every_research_row_is_encoded_or_left_with_its_reason(country):
    rows = RESEARCH_ROWS[country]
    assert sorted(rows) == list(range(1, RESEARCH_ROW_COUNTS[country] + 1))
    [catalogue] = shown("--country", country)["catalogues"]
    codes = [benefit["code"] for benefit in catalogue["benefits"]]
    encoded = {code for code in rows.values() if code.startswith(country.upper() + "_")}
    assert encoded == set(codes), set(codes) ^ encoded
    cash = [n for n, code in rows.items() if code != OUT]
    assert len(cash) == CASH_ROWS[country]
    in_catalogue = [n for n in cash if rows[n] in codes]
    assert len(in_catalogue) == {"me": 23, "rs": 13, "ua": 20}[country]   # all but the draft law


def test_statuses_sources_and_no_amount_are_shown():
    document = shown()
    assert [c["country"] for c in document["catalogues"]] == ["me", "rs", "ua"]
    for catalogue in document["catalogues"]:
        assert set(catalogue) == CATALOGUE_KEYS and catalogue["sources"]["rules_md"]["ref"] == "shared/RULES.md"
        for benefit in catalogue["benefits"]:
            assert set(benefit) == BENEFIT_KEYS
            if benefit["code"] in UNPRICED:
                assert benefit["status"] == "no amount" and "research status N" in benefit["unpriced"]
            else:
                assert benefit["status"] == "priced" and benefit["unpriced"] is None
            for lines in benefit["parameters"].values():
                for line in lines:
                    assert set(line) == LINE_KEYS
                    assert line["status"] in ("confirmed", "reported", "derived", "assumption")
                    assert line["ref"] or line["status"] == "assumption"
    text = run("--country", "me")
    assert text.exit_code == 0
    assert "ME_MO  Materijalno obezbjeđenje  [household_table_minus_income]  priced" in text.output
    assert "from 2024-01-01  87.91 EUR, 105.57 EUR, 126.73 EUR, 149.59 EUR, 167.14 EUR  (confirmed)  " \
           "source: https://me.propisi.net/odluka-" in text.output
    assert "ME_BOR_POGREB  Pogrebni troškovi boraca i vojnih invalida  [one_off]  no amount: research status N" \
        in text.output
    assert "23 benefit(s): 12 priced, 11 with no amount" in text.output
    assert "note: the Parliament removed the maximum of five children" in text.output


def test_one_benefit_with_its_derived_values():
    [catalogue] = shown("--country", "ua", "--benefit", "UA_INV_DYTYNSTVA")["catalogues"]
    [benefit] = catalogue["benefits"]
    lines = benefit["parameters"]["amount_by_grade"]
    assert [(line["valid_from"], line["values"]) for line in lines] == [
        ("2025-01-01", ["2361.00 UAH", "1888.80 UAH", "1416.60 UAH", "1652.70 UAH"]),
        ("2026-01-01", ["2595.00 UAH", "2076.00 UAH", "1557.00 UAH", "1816.50 UAH"])]
    assert {(line["status"], line["base"], tuple(line["percent_bp"])) for line in lines} == {
        ("derived", "ua_pm_lost_capacity", (10000, 8000, 6000, 7000))}
    text = run("--country", "ua", "--benefit", "UA_INV_DYTYNSTVA").output
    assert "derived: 100 %, 80 %, 60 %, 70 % of base ua_pm_lost_capacity" in text and "bases (" not in text
    # without --country the benefit is found in its catalogue
    assert [c["country"] for c in shown("--benefit", "RS_STAN")["catalogues"]] == ["rs"]


def test_an_unknown_benefit_is_refused_with_the_known_codes():
    result = run("--country", "rs", "--benefit", "RS_NOPE")
    assert result.exit_code == 2 and "RS_NOPE" in result.output and "RS_NSP" in result.output
    assert "Traceback" not in result.output
