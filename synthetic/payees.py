"""Payees and deduction orders of a synthetic register: people and guardians with their accounts or postal
addresses, care institutions and enforcement officers shared by the whole register, creditors of orders.
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from formats.schemas import DEDUCTION_KINDS, DEDUCTION_PRIORITY, REGISTER
from synthetic.arrays import (conformed_table, date_array, digit_strings, int_array, month_end_days,
                              month_start_days, months_of_days, pick_strings, seeded_rng, weighted_choice)
from synthetic.context import ROLES, Context, NextIds
from synthetic.identifiers import bank_accounts
from synthetic.names import CountryData
from synthetic.people import CHILD, ELDERLY, People, display_names, in_both_scripts, random_names
from synthetic.drafts import GUARDIAN, INSTITUTION
from synthetic.versions import Versions


DEDUCTION_SHARE = 0.03        # rights with at least one deduction order

PERSON_PAYEE_POST_SHARE = 0.13   # baseline postal share of people; higher for child allowance and elderly

def postal_addresses(rng, country: CountryData, place: np.ndarray, cyrillic: np.ndarray) -> dict:
    """Structured postal addresses in the payee's municipality, in the script of the payee's name."""
    n = len(place)
    places = country.places
    offset = np.where(cyrillic, 1, 0)
    street = rng.integers(0, len(country.streets), n)
    number = rng.integers(1, 160, n)
    suffix = weighted_choice(rng, n, [0.85, 0.08, 0.04, 0.03])          # none, a, b, "bb" (no number)
    letters = ["", "a", "b", "bb"] if country.code != "ua" else ["", "а", "б", ""]
    cyr_letters = ["", "а", "б", "бб"]
    numbers = pc.binary_join_element_wise(
        pc.if_else(pa.array(suffix == 3), pa.scalar(""), pc.cast(pa.array(number), pa.string())),
        pc.if_else(pa.array(cyrillic), pick_strings(cyr_letters, suffix), pick_strings(letters, suffix)), "")
    towns = in_both_scripts(tuple(p[0] for p in places), country)
    districts = in_both_scripts(tuple(p[1] for p in places), country)
    regions = in_both_scripts(tuple(p[2] for p in places), country)
    shift = offset * len(places)
    return {
        "street": pick_strings(in_both_scripts(country.streets, country), street + offset * len(country.streets)),
        "house_number": numbers,
        "postcode": pick_strings([p[3] for p in places], place),
        "town": pick_strings(towns, place + shift),
        "district": pick_strings(districts, place + shift),
        "region": pick_strings(regions, place + shift),
    }


def _phones(rng, country: CountryData, n: int, share: float) -> pa.Array:
    prefix = pick_strings(country.phone_prefixes, rng.integers(0, len(country.phone_prefixes), n))
    number = digit_strings(rng.integers(0, 10**6 if country.code != "ua" else 10**7, n),
                           6 if country.code != "ua" else 7)
    phones = pc.binary_join_element_wise(prefix, number, "")
    return pc.if_else(pa.array(rng.random(n) < share), phones, pa.scalar(None, pa.string()))


# ---- payees and deductions ------------------------------------------------------------------------------

def _channels(rng, n: int, post_share) -> np.ndarray:
    return np.where(rng.random(n) < post_share, "post", "bank")


def person_payees(rng, ctx: Context, ppl: People, drafts: dict, ids: NextIds):
    """One payee per (recipient, capacity); institutions use the shared institution payees."""
    kind = drafts["recipient_kind"]
    personal = kind != INSTITUTION
    key = drafts["recipient"] * 2 + (kind == GUARDIAN)
    keys, inverse = np.unique(key[personal], return_inverse=True)
    count = len(keys)
    payee_ids = ids.payee + np.arange(count)
    payee_of_right = np.empty(len(kind), dtype=np.int64)
    payee_of_right[personal] = payee_ids[inverse]
    institutional = ~personal
    payee_of_right[institutional] = ctx.institution_ids[drafts["institution"][institutional]]
    person = keys // 2
    # child allowance goes by post to the parent with custody more often; the elderly prefer the post too
    right_post = np.where(drafts["role"] == ROLES.index("per_child"), 0.25, PERSON_PAYEE_POST_SHARE)
    right_post = np.where(ppl.category[drafts["recipient"]] == ELDERLY, 0.30, right_post)[personal]
    # where the catalogue does not pay a benefit through the post (Serbia), only a few payees without an
    # account are still on the postal list
    no_post = ~ctx.per_code(ctx.post_allowed, True)[drafts["code"][personal]]
    right_post = np.where(no_post, right_post * 0.25, right_post)
    post_share = np.zeros(count)
    np.maximum.at(post_share, inverse, right_post)
    channel = _channels(rng, count, post_share)
    household = ppl.household[person]
    cyrillic = ppl.cyrillic[household]
    names = _person_names(ctx, ppl, person)
    iban, bic = bank_accounts(rng, ctx.country, count)
    bank = pa.array(channel == "bank")
    columns = {
        "payee_id": pa.array(payee_ids),
        "channel": pa.array(channel),
        "kind": pa.array(np.where(keys % 2 == 1, "guardian", "person")),
        "name": names,
        "iban": pc.if_else(bank, iban, pa.scalar(None, pa.string())),
        "bic": pc.if_else(bank, bic, pa.scalar(None, pa.string())),
        "country": pa.array(np.full(count, ctx.country.iso)),
        "tax_id": ppl.tax_id.take(pa.array(person)),
        "phone": _phones(rng, ctx.country, count, 0.6),
    }
    columns.update(postal_addresses(rng, ctx.country, ppl.place[household], cyrillic))
    return columns, payee_of_right


def _person_names(ctx: Context, ppl: People, person: np.ndarray) -> pa.Array:
    take = pa.array(person)
    return display_names(ctx.country, ppl.given.take(take), ppl.family_name.take(take),
                         ppl.patronymic.take(take))


def deduction_orders(rng, ctx: Context, ppl: People, drafts: dict, rows: Versions, ids: NextIds, payee_count: int):
    """~3 % of rights carry deduction orders of every kind; third-party kinds name their creditor payee."""
    right, kind = _ordered_rights(rng, ctx, ppl, drafts)
    m = len(right)
    fixed, percent, use_percent, outstanding = _order_terms(rng, ctx, kind)
    first_from = rows.valid_from[rows.version == 1][right]
    months = np.maximum(ctx.period - rng.integers(0, 25, m), months_of_days(first_from))
    valid_to = np.where(rng.random(m) < 0.1, month_end_days(ctx.period + rng.integers(1, 25, m)), -1)
    # alimony and damages go to a person (the other parent, the injured party); enforcement to an officer
    personal = (kind == DEDUCTION_KINDS.index("alimony")) | (kind == DEDUCTION_KINDS.index("damages"))
    enforcement = kind == DEDUCTION_KINDS.index("enforcement")
    creditor_ids = ids.payee + payee_count + np.arange(int(personal.sum()))
    creditor = np.full(m, -1)
    creditor[personal] = creditor_ids
    creditor[enforcement] = ctx.enforcer_ids[rng.integers(0, len(ctx.enforcer_ids), int(enforcement.sum()))]
    household = ppl.household[drafts["person"][right[personal]]]
    table = conformed_table(REGISTER["deductions"], {
        "order_id": pa.array(ids.order + np.arange(m)),
        "right_id": pa.array(ids.right + right),
        "kind": pick_strings(DEDUCTION_KINDS, kind),
        "priority": int_array([DEDUCTION_PRIORITY[k] for k in DEDUCTION_KINDS], pa.int16()).take(pa.array(kind)),
        "fixed_minor": int_array(fixed, pa.int64(), ~use_percent),
        "percent_bp": int_array(percent, pa.int32(), use_percent),
        "outstanding_minor": int_array(outstanding, pa.int64(), outstanding >= 0),
        "creditor_payee_id": int_array(creditor, pa.int64(), creditor >= 0),
        "valid_from": date_array(month_start_days(months)),
        "valid_to": date_array(valid_to, valid_to >= 0),
        # Readings 10 and 11: most alimony is for a minor; a tenth of the overpayments are the agency's fault
        "for_minor": _bool_or_null(rng.random(m) < 0.9, kind == DEDUCTION_KINDS.index("alimony")),
        "agency_fault": _bool_or_null(rng.random(m) < 0.1, kind == DEDUCTION_KINDS.index("overpayment")),
    })
    return table, _creditor_payees(rng, ctx, creditor_ids, ppl.place[household])


def _bool_or_null(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values, pa.bool_(), mask=~valid)


def _ordered_rights(rng, ctx: Context, ppl: People, drafts: dict):
    """(draft index, kind index) of every order, sorted; a fifth of the rights chosen carry two kinds."""
    n = len(drafts["role"])
    grown_up = ppl.category[drafts["person"]] != CHILD
    protected = ctx.per_code(dict.fromkeys(ctx.protected, True), False)[drafts["code"]]
    # protected benefits accept only the recovery of overpayments, and rarely carry any order
    candidates = np.flatnonzero(grown_up & (drafts["recipient_kind"] != INSTITUTION)
                                & (~protected | (rng.random(n) < 0.1)))
    chosen = np.sort(rng.permutation(candidates)[:int(round(DEDUCTION_SHARE * n))])
    protected = protected[chosen]
    kinds = np.where(protected, DEDUCTION_KINDS.index("overpayment"),
                     weighted_choice(rng, len(chosen), [30, 10, 35, 25]))
    second = ~protected & (rng.random(len(chosen)) < 0.2)
    second_kind = (kinds[second] + 1 + rng.integers(0, 3, int(second.sum()))) % len(DEDUCTION_KINDS)
    right = np.concatenate([chosen, chosen[second]])
    kind = np.concatenate([kinds, second_kind])
    order = np.lexsort((kind, right))
    return right[order], kind[order]


def _order_terms(rng, ctx: Context, kind: np.ndarray):
    """Monthly fixed amount or share of the gross, and the balance still owed (-1: none, alimony runs on)."""
    m, euro = len(kind), ctx.euro_minor
    alimony, damages, overpayment, enforcement = (kind == DEDUCTION_KINDS.index(k) for k in DEDUCTION_KINDS)
    use_percent = ((damages & (rng.random(m) < 0.3)) | (overpayment & (rng.random(m) < 0.7))
                   | (enforcement & (rng.random(m) < 0.8)))
    fixed = np.select([alimony, damages, overpayment],
                      [rng.integers(40, 151, m) * euro, rng.integers(20, 101, m) * euro,
                       rng.integers(10, 61, m) * euro], rng.integers(20, 81, m) * euro)
    percent = np.where(damages, rng.integers(10, 31, m) * 100, 2000)
    outstanding = np.select([damages, overpayment, enforcement],
                            [rng.integers(300, 5001, m) * euro, rng.integers(50, 2001, m) * euro,
                             rng.integers(100, 3001, m) * euro], -1)
    return fixed, percent, use_percent, outstanding


def _creditor_payees(rng, ctx: Context, payee_ids: np.ndarray, place: np.ndarray) -> pa.Table:
    n = len(payee_ids)
    cyrillic = rng.random(n) < ctx.country.cyrillic_share
    given, family = random_names(rng, ctx.country, n, cyrillic)
    iban, bic = bank_accounts(rng, ctx.country, n)
    columns = {
        "payee_id": pa.array(payee_ids, pa.int64()), "channel": pa.array(np.full(n, "bank")),
        "kind": pa.array(np.full(n, "creditor")), "name": pc.binary_join_element_wise(given, family, " "),
        "iban": iban, "bic": bic, "country": pa.array(np.full(n, ctx.country.iso)),
    }
    columns.update(postal_addresses(rng, ctx.country, place, cyrillic))
    return conformed_table(REGISTER["payees"], columns)


def shared_payees(seed: int, country: CountryData, first_id: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Care institutions and enforcement officers: one payee each for the whole register."""
    rng = seeded_rng(seed, 99, ord(country.code[0]), ord(country.code[1]))
    names = list(country.institutions) + list(country.enforcers)
    n = len(names)
    ids = first_id + np.arange(n)
    institutions = len(country.institutions)
    iban, bic = bank_accounts(rng, country, n)
    place = weighted_choice(rng, n, [p[4] for p in country.places])
    columns = {
        "payee_id": pa.array(ids), "channel": pa.array(np.full(n, "bank")),
        "kind": pa.array(["institution"] * institutions + ["creditor"] * (n - institutions)),
        "name": pa.array(names), "iban": iban, "bic": bic, "country": pa.array(np.full(n, country.iso)),
    }
    columns.update(postal_addresses(rng, country, place, np.full(n, country.code == "ua")))
    return conformed_table(REGISTER["payees"], columns), ids[:institutions], ids[institutions:]
