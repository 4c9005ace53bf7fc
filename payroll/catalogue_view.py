"""What a rule catalogue says, as plain data for `isplata rules show`, explain and the report: every benefit with
its status (priced, or no amount with the reason), every dated value of every parameter with its amount in the
currency, its source (ref and title) and status (confirmed, reported, derived, assumption), the bases the derived
values follow, and the notes where sources disagree.

The document's keys are stable (the --json contract): {"catalogues": [{country, name, currency, minor_exponent,
path, sha256, sources, bases, benefits: [{code, name, kind, status, unpriced, note, parameters: {name: [line]}}]}]}
with each line {valid_from, values, values_minor, unit, source, ref, title, status, reason, note, base,
percent_bp}.
"""
import datetime as dt

from engine.catalogue import PARAM_SHAPES
from formats.amounts import format_amount
from formats.catalogue import COUNTRY_FILES, load_catalogue
from formats.errors import InputError, problem

PRICED, NO_AMOUNT = "priced", "no amount"


def catalogues_for(country: str | None = None, rules=None) -> list:
    """The catalogue of --rules, else of --country, else the three bundled ones."""
    if rules is not None:
        return [load_catalogue(rules, country=country)]
    if country is not None:
        return [load_catalogue(country=country)]
    return [load_catalogue(country=code) for code in COUNTRY_FILES]


def rules_document(catalogues: list, benefit: str | None = None) -> dict:
    """The --json document of `rules show`; `benefit` keeps only that code (refused when no catalogue has it)."""
    documents = [catalogue_document(c, benefit) for c in catalogues]
    if benefit is not None:
        documents = [d for d in documents if d["benefits"]]
        if not documents:
            known = ", ".join(code for c in catalogues for code in c.benefit_codes)
            raise InputError([problem("--benefit", None, "benefit", benefit, "no catalogue shown has this benefit",
                                      f"use one of {known}, or choose the country with --country")])
    return {"catalogues": documents}


def catalogue_document(catalogue, only: str | None = None) -> dict:
    return {
        "country": catalogue.country, "name": catalogue.name, "currency": catalogue.currency,
        "minor_exponent": catalogue.minor_exponent, "path": catalogue.path, "sha256": catalogue.sha256,
        "sources": {key: {"ref": s.ref, "title": s.title} for key, s in catalogue.sources.items()},
        "bases": {name: [money_line(catalogue, valid_from, (minor,), provenance)
                         for valid_from, minor, provenance in lines]
                  for name, lines in catalogue.bases.items()},
        "benefits": [benefit_document(catalogue, b) for b in catalogue.benefits if only in (None, b.code)],
    }


def benefit_document(catalogue, benefit) -> dict:
    return {
        "code": benefit.code, "name": benefit.name, "kind": benefit.kind,
        "status": NO_AMOUNT if benefit.unpriced else PRICED, "unpriced": benefit.unpriced or None,
        "note": benefit.note or None,
        "parameters": {name: [value_line(catalogue, name, valid_from, values, provenance)
                              for (valid_from, values), provenance in zip(lines, benefit.provenance[name])]
                       for name, lines in benefit.parameters.items()},
    }


def value_line(catalogue, name: str, valid_from: dt.date, values: tuple, provenance) -> dict:
    unit = PARAM_SHAPES[name][1]
    return line(catalogue, valid_from, values, shown_values(catalogue, unit, values), unit, provenance)


def money_line(catalogue, valid_from, values, provenance) -> dict:
    return line(catalogue, valid_from, values, shown_values(catalogue, "money", values), "money", provenance)


def shown_values(catalogue, unit: str, values) -> list[str]:
    """Values in their unit: money in the currency, basis points as %, counts as they are."""
    if unit == "money":
        return [f"{format_amount(v, catalogue.minor_exponent)} {catalogue.currency}" for v in values]
    return [f"{format_amount(v, 2)} %" for v in values] if unit == "bp" else [str(v) for v in values]


def line(catalogue, valid_from, values, shown, unit, provenance) -> dict:
    source = catalogue.sources.get(provenance.source)
    return {"valid_from": valid_from.isoformat(), "values": shown, "values_minor": list(values), "unit": unit,
            "source": provenance.source or None, "ref": source.ref if source else None,
            "title": source.title if source else None, "status": provenance.status,
            "reason": provenance.reason or None, "note": provenance.note or None,
            "base": provenance.base or None, "percent_bp": list(provenance.percent_bp) or None}


def sources_in_force(catalogue, code: str, day: dt.date) -> list[dict]:
    """Every parameter value of benefit `code` in force on `day`, with its source and status (for explain and the
    report): [{parameter, valid_from, values, ref, title, status, reason}]; an unpriced benefit gives one line."""
    benefit = catalogue.benefit(code)
    if benefit.unpriced:
        return [{"parameter": None, "valid_from": None, "values": [], "ref": None, "title": None,
                 "status": NO_AMOUNT, "reason": benefit.unpriced}]
    rows = []
    for name in benefit.parameters:
        position = benefit.line_on(name, day)
        if position is None:
            continue
        valid_from, values = benefit.parameters[name][position]
        ref, title, status, reason = catalogue.provenance(code, name, day) or ("", "", None, "")
        rows.append({"parameter": name, "valid_from": valid_from.isoformat(),
                     "values": shown_values(catalogue, PARAM_SHAPES[name][1], values),
                     "ref": ref or None, "title": title or None, "status": status, "reason": reason or None})
    return rows
