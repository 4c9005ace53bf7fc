"""Runs the policy scenarios in tests/engine/scenarios/*.toml: register facts in, expected amounts out.

A scenario names a country catalogue, a period and the first month of the window, lists persons, household
members and rights (one line per version), and every month with a non-zero amount (months not listed must be
due 0). `override` lines replace a catalogue parameter for "what if" examples. Amounts are decimal text in
the currency (cents for EUR/UAH, whole dinars for RSD), exactly as a policy person would check them.
`housing_costs` and `wage_bases` lines give the register's dated amounts (issue 17); `listed` lines name the
months due 0 for a reason the payroll lists (no_base: the register lacks the housing cost or wage base).
"""
import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from engine.entitlement import REASON_NO_BASE
from formats.amounts import parse_amount
from engine.months import format_period, parse_period
from entitlement_tables import engine_due
from formats.catalogue import catalogue_path, load_catalogue

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.toml"))
PERSON_KEYS = {"id": "person_id", "born": "birth_date", "died": "death_date", "disabled": "disabled",
               "without_parental_care": "without_parental_care"}
MEMBER_KEYS = {"household": "household_id", "person": "person_id", "role": "role", "from": "member_from",
               "to": "member_to"}
RIGHT_KEYS = {"id": "right_id", "version": "version", "benefit": "benefit", "person": "person_id",
              "household": "household_id", "from": "valid_from", "to": "valid_to", "decided": "decided_on",
              "income": "income_minor",
              "applied": "applied_on", "grade": "grade", "birth_order": "birth_order", "amount": "amount_minor",
              "mo_family": "mo_family", "single_parent": "single_parent", "unable_to_work": "unable_to_work",
              "other_payment": "other_payment_minor", "subgroup": "subgroup"}
FACT_KEYS = {"housing_costs": {"household": "household_id", "from": "valid_from", "to": "valid_to",
                               "cost": "cost_minor"},
             "wage_bases": {"person": "person_id", "from": "valid_from", "to": "valid_to", "base": "base_minor"}}
LISTED_REASONS = {"no_base": REASON_NO_BASE}


TITLE_KEYS = {"id": "title_id", "child": "child_id", "debtor": "debtor_id", "monthly": "monthly_minor",
              "from": "valid_from", "to": "valid_to"}


def renamed(row: dict, keys: dict, where: str) -> dict:
    unknown = set(row) - set(keys)
    assert not unknown, f"{where}: unknown keys {sorted(unknown)}"
    return {keys[key]: value for key, value in row.items()}


def with_overrides(catalogue, overrides):
    """Replace dated parameter values of the catalogue (for "what if the base were ..." examples). An unpriced
    benefit (research status N) given its parameters by overrides is priced for the example ("what if the
    amount were ...")."""
    benefits = []
    for benefit in catalogue.benefits:
        parameters = dict(benefit.parameters)
        mine = [line for line in overrides if line["benefit"] == benefit.code]
        for line in mine:
            values = line["value"] if isinstance(line["value"], list) else [line["value"]]
            minor = tuple(parse_amount(v, catalogue.minor_exponent) if isinstance(v, str) else v
                          for v in values)
            parameters[line["parameter"]] = ((line["valid_from"], minor),)
        priced = {"unpriced": ""} if mine and getattr(benefit, "unpriced", "") else {}
        benefits.append(dataclasses.replace(benefit, parameters=parameters, **priced))
    return dataclasses.replace(catalogue, benefits=tuple(benefits))


def with_base_lines(country: str, lines: list, folder: Path):
    """The country's catalogue loaded again with dated lines added to its [bases] (a what-if of a base change):
    the loader derives every amount that follows the base, as it does for the bundled file."""
    if not lines:
        return load_catalogue(country=country)
    text = catalogue_path(country).read_text(encoding="utf-8")
    for line in lines:
        start = text.index(f"\n{line['base']} = [")
        end = text.index("\n]", start)
        text = (text[:end] + f"\n  {{ valid_from = {line['valid_from']}, value = \"{line['value']}\", "
                f'status = "assumption", reason = "scenario what-if" }},' + text[end:])
    path = folder / f"{country}-with-base-lines.toml"
    path.write_text(text, encoding="utf-8")
    return load_catalogue(path)


def load_scenario(path: Path, folder: Path | None = None):
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    base = with_base_lines(doc["country"], doc.get("base_lines", []), folder or Path.cwd())
    catalogue = with_overrides(base, doc.get("override", []))
    exponent = catalogue.minor_exponent
    persons = [renamed(row, PERSON_KEYS, "persons") for row in doc["persons"]]
    members = [renamed(row, MEMBER_KEYS, "members") for row in doc.get("members", [])]
    versions = []
    for row in doc["rights"]:
        version = renamed(row, RIGHT_KEYS, "rights")
        version.setdefault("version", 1)
        version.setdefault("decided_on", version["valid_from"])
        for money in ("income_minor", "amount_minor", "other_payment_minor"):
            if money in version:
                version[money] = parse_amount(version[money], exponent)
        versions.append(version)
    expected = {(row["right"], parse_period(row["month"])): parse_amount(row["due"], exponent)
                for row in doc["expected"]}
    facts = {}
    for name, keys in FACT_KEYS.items():
        facts[name] = [renamed(row, keys, name) for row in doc.get(name, [])]
        money = "cost_minor" if name == "housing_costs" else "base_minor"
        for row in facts[name]:
            row[money] = parse_amount(row[money], exponent)
    return doc, catalogue, persons, members, versions, expected, facts


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path):
    doc, catalogue, persons, members, versions, expected, facts = load_scenario(path)
    period, start = parse_period(doc["period"]), parse_period(doc["window_from"])
    titles = [renamed(row, TITLE_KEYS, "titles") for row in doc.get("titles", [])]
    for title in titles:
        if "monthly_minor" in title:
            title["monthly_minor"] = parse_amount(title["monthly_minor"], catalogue.minor_exponent)
    reasons = {}
    computed = engine_due(persons, members, versions, catalogue, period, start, titles, reasons=reasons, **facts)
    assert not any(missing for _due, missing in computed.values()), "a month without rules in force"
    got = {(right, format_period(month)): due for (right, month), (due, _missing) in computed.items() if due}
    want = {(right, format_period(month)): due for (right, month), due in expected.items() if due}
    assert got == want, doc["title"]
    listed = {(row["right"], row["month"]): LISTED_REASONS[row["reason"]] for row in doc.get("listed", [])}
    assert {(right, format_period(month)): reason for (right, month), reason in reasons.items()
            if reason == REASON_NO_BASE} == listed


def test_there_is_a_scenario_for_every_formula_kind():
    from engine.catalogue import KINDS

    covered = set()
    for path in SCENARIOS:
        _doc, catalogue, _persons, _members, versions, _expected, _facts = load_scenario(path)
        covered |= {catalogue.benefit(v["benefit"]).kind for v in versions}
    assert covered == set(KINDS)


def test_scenario_dates_are_dates():
    for path in SCENARIOS:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        for row in doc["rights"]:
            assert isinstance(row["from"], dt.date), (path.name, row)
