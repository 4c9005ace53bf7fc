"""Synthetic national register: a realistic, deterministic snapshot of persons, households, rights, payees
and deduction orders for Montenegro, Serbia or Ukraine, and the same register one month later.

Households are drawn with a real age structure (adults, children 0-17, elderly), rights follow from who lives
in them (child allowance where there are children, disability benefits for disabled members, means-tested
support with incomes around the threshold, veterans' benefits for older men, birth and funeral grants for
recent births and deaths), and payees, IBANs and addresses follow from the rights. Everything is vectorised
numpy over one chunk of rights at a time (CHUNK_RIGHTS), each chunk written as one Parquet row group, so ten
million rights run in bounded memory. The same arguments give byte-identical files: every random draw comes
from a generator seeded by (seed, country, period, chunk).

`advance_register` (further down) reads such a register and writes the register of the next month.
"""
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from engine.months import month_first_date, parse_period
from formats.catalogue import load_catalogue
from formats.errors import InputError, problem
from formats.names import COUNTRIES, CountryData, latin_to_cyrillic
from formats.register_meta import register_country, write_register_meta
from formats.schemas import DEDUCTION_KINDS, DEDUCTION_PRIORITY, REGISTER
from formats.i18n import N_

CHUNK_RIGHTS = 250_000        # rights per chunk / Parquet row group: bounds memory for national sizes
RIGHTS_MAX = 50_000_000       # ids stay far inside int64; a larger national register is partitioned
PARQUET_COMPRESSION = "snappy"   # zstd files are 40 % smaller but take twice as long to write
TABLES = tuple(REGISTER)      # persons, households, rights, payees, deductions
# Dictionary encoding pays only for columns with few distinct values; unique ids, IBANs and tax ids skip it.
DICTIONARY_COLUMNS = frozenset({"family_name", "given_name", "patronymic", "municipality", "role", "benefit",
                                "channel", "kind", "bic", "street", "postcode", "town", "district", "region",
                                "country"})

# Minor units of a typical "one euro's worth" in each currency: scales fines, alimony and debts.
EURO_WORTH_MINOR = {"me": 100, "rs": 117, "ua": 4_800}
# Rights per household, roughly: sizes the household draw of a chunk (a short draw is redrawn larger).
RIGHTS_PER_HOUSEHOLD = {"me": 0.8, "rs": 0.55, "ua": 0.45}

RETRO_SHARE = 0.05            # rights with a version decided in the period and valid from 1-12 months back
DEDUCTION_SHARE = 0.03        # rights with at least one deduction order
CLOSED_SHARE = 0.03           # rights whose award ended in the past
PERSON_PAYEE_POST_SHARE = 0.13   # baseline postal share of people; higher for child allowance and elderly

# Roles: how a right arises from a household. Each country maps the roles it has to its benefit codes.
ROLES = ("means", "per_child", "disability", "care", "carer", "mother", "veteran", "veteran_care",
         "veteran_family", "foster", "birth", "funeral")
ROLE_CODES = {
    "me": {"means": "ME_MO", "per_child": "ME_DD", "disability": "ME_LI", "care": "ME_DNJP", "carer": "ME_NJEG",
           "mother": "ME_MAT", "veteran": "ME_BOR_LI", "veteran_care": "ME_BOR_NJEGA",
           "veteran_family": "ME_BOR_PORODICNA", "foster": "ME_MO_FOSTER", "birth": "ME_NOVOROD",
           "funeral": "ME_SAHRANA"},
    "rs": {"means": "RS_NSP", "per_child": "RS_DD", "birth": "RS_RODITELJSKI"},
    "ua": {"means": "UA_DSD", "birth": "UA_NARODZH", "funeral": "UA_POHOV"},
}
# Roles whose later versions change a fact the formula reads (income, grade, flags): retroactive changes.
FACT_ROLES = ("means", "per_child", "disability", "veteran", "veteran_family")
EVENT_ROLES = ("birth", "funeral")             # valid_from fixed by the event, never moved
VETERAN_GRADE_WEIGHTS = np.array([1, 2, 3, 4, 6, 8, 10, 14, 18, 20], dtype=float)


# ---- small vectorised helpers ---------------------------------------------------------------------------

def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


def _month_start_days(months) -> np.ndarray:
    """Month index (months since 1970-01) -> days since 1970-01-01 of its first day."""
    return np.asarray(months, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _month_end_days(months) -> np.ndarray:
    return _month_start_days(np.asarray(months, dtype=np.int64) + 1) - 1


def _months_of_days(days) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _date_array(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(days, dtype=np.int32), mask=mask).view(pa.date32())


def _int_array(values, arrow_type, valid=None) -> pa.Array:
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(np.asarray(values).astype(arrow_type.to_pandas_dtype()), type=arrow_type, mask=mask)


def _digits(values, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings."""
    return pc.utf8_lpad(pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string()), width, "0")


def _pick(strings, index: np.ndarray) -> pa.Array:
    return pa.array(list(strings), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _choice(rng, n: int, weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n), side="right").clip(0, len(weights) - 1)


def _table(schema: pa.Schema, columns: dict) -> pa.Table:
    """A table of `schema` from the columns given; columns not generated (added later to the schema) are null."""
    length = len(next(iter(columns.values())))
    arrays = []
    for schema_field in schema:
        column = columns.get(schema_field.name)
        arrays.append(pa.nulls(length, schema_field.type) if column is None else column.cast(schema_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


# ---- national identifiers and IBANs ---------------------------------------------------------------------

def _civil_date_parts(days: np.ndarray):
    dates = np.asarray(days, dtype="int64").astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return years, months, day_of_month


def jmbg(birth_days: np.ndarray, region: np.ndarray, female: np.ndarray, rng) -> pa.Array:
    """Yugoslav personal numbers (JMBG, used in ME and RS): DDMMYYY RR BBB K with the official mod-11 check.

    A serial whose check would be 10 is never issued, so such serials are moved to the next one.
    """
    years, months, days = _civil_date_parts(birth_days)
    serial = rng.integers(0, 500, len(birth_days)) + np.where(female, 500, 0)
    head = days * 10**11 + months * 10**9 + (years % 1000) * 10**6 + np.asarray(region) * 10**4
    for _ in range(12):
        check = _jmbg_check(head + serial * 10)
        bad = check == 10
        if not bad.any():
            break
        serial = np.where(bad, serial - 1 + np.where(serial % 500 == 0, 2, 0), serial)
    return _digits(head + serial * 10 + np.where(check >= 10, 0, check), 13)


def _jmbg_check(number13: np.ndarray) -> np.ndarray:
    digits = [(number13 // 10 ** (12 - i)) % 10 for i in range(12)]
    weights = (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    total = sum(w * d for w, d in zip(weights, digits))
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def rnokpp(birth_days: np.ndarray, female: np.ndarray, rng) -> pa.Array:
    """Ukrainian taxpayer numbers: days since 1899-12-31, a serial whose last digit is odd for men, a check."""
    day_number = np.asarray(birth_days, dtype=np.int64) + 25_568
    serial = rng.integers(0, 500, len(birth_days)) * 2 + np.where(female, 0, 1)
    number9 = day_number * 10**4 + serial % 10**4
    digits = [(number9 // 10 ** (8 - i)) % 10 for i in range(9)]
    weights = (-1, 5, 7, 9, 4, 6, 10, 5, 7)
    check = (sum(w * d for w, d in zip(weights, digits)) % 11) % 10
    return _digits(number9 * 10 + check, 10)


def ibans(country: CountryData, bank_index: np.ndarray, account: np.ndarray) -> pa.Array:
    """IBANs with correct national (ME, RS: ISO 7064 mod 97-10) and IBAN (mod 97) check digits.

    ME/RS BBAN: bank 3 + account 13 + national check 2; UA BBAN: MFO 6 + account 19 (digits here). The mod-97
    remainders are combined piecewise so that no intermediate number leaves int64.
    """
    codes = np.array([int(code) for code, _, _ in country.banks], dtype=np.int64)[bank_index]
    bank_width = len(country.banks[0][0])
    account = np.asarray(account, dtype=np.int64)
    if country.iso in ("ME", "RS"):
        account_width, national_width = 13, 2
        national = 98 - ((codes % 97) * pow(10, account_width, 97) + account % 97) * 100 % 97
    else:
        account_width, national_width = 19, 0
        national = np.zeros_like(account)
    bban_mod = ((codes % 97) * pow(10, account_width + national_width, 97)
                + (account % 97) * pow(10, national_width, 97) + national) % 97
    letters = int("".join(str(ord(c) - 55) for c in country.iso)) * 100   # "ME00" -> 221400
    check = 98 - (bban_mod * pow(10, len(str(letters)), 97) + letters % 97) % 97
    parts = [pa.array(np.full(len(account), country.iso)), _digits(check, 2), _digits(codes, bank_width),
             _digits(account, account_width)]
    if national_width:
        parts.append(_digits(national, national_width))
    return pc.binary_join_element_wise(*parts, "")


def _bank_accounts(rng, country: CountryData, n: int):
    """(iban, bic) arrays for n new accounts, banks drawn by market share."""
    bank_index = _choice(rng, n, [weight for _, _, weight in country.banks])
    if country.iso == "UA":   # individual card accounts: balance account 2620 + 10 digits
        account = 2620 * 10**10 + rng.integers(0, 10**10, n)
    else:
        account = rng.integers(10**6, 10**10, n)
    bics = [bic for _, bic, _ in country.banks]
    bic = pa.array([bics[i] for i in range(len(bics))], pa.string()).take(pa.array(bank_index))
    return ibans(country, bank_index, account), bic


# ---- context --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """Everything a chunk needs besides its random generator: country data, period, catalogue facts."""

    country: CountryData
    catalogue: object
    period: int                   # month index of the register's period
    codes: dict                   # role -> benefit code present in the catalogue
    first_month: dict             # role -> earliest month with all parameters in force
    protected_roles: frozenset
    award_months: dict            # role -> months of a fixed-term award (UA_DSD: 6)
    institution_ids: np.ndarray   # payee ids of care institutions (shared by all chunks)
    enforcer_ids: np.ndarray      # payee ids of enforcement officers
    decided_amount_roles: frozenset
    post_allowed: dict            # role -> the benefit may be paid through the post

    @property
    def start_days(self) -> int:
        return int(_month_start_days(self.period))

    @property
    def end_days(self) -> int:
        return int(_month_end_days(self.period))

    @property
    def euro_minor(self) -> int:
        return EURO_WORTH_MINOR[self.country.code]


def benefit_first_months(catalogue) -> dict:
    """Benefit code -> first month it can be calculated: the month all its parameters are in force. A benefit
    without parameters of its own (an amount computed from another benefit's, such as UA_POHOV) waits for every
    other benefit of the catalogue."""
    own = {}
    for benefit in catalogue.benefits:
        dates = [dated[0][0] for dated in benefit.parameters.values()]
        if dates:
            own[benefit.code] = max((d.year - 1970) * 12 + d.month - 1 for d in dates)
    latest = max(own.values(), default=0)
    return {code: own.get(code, latest) for code in catalogue.benefit_codes}


def check_period_covered(catalogue, period: int) -> None:
    """A register of a month before every benefit of the catalogue has its values is refused (nothing to draw)."""
    first = min(benefit_first_months(catalogue).values())
    if period < first:
        raise InputError([problem("--period", None, "period", _period_text(period),
                                  N_("the {country} catalogue has no benefit with values in force before {first} "
                                     "({name})", country=catalogue.country.upper(), first=_period_text(first),
                                     name=Path(catalogue.path).name),
                                  N_("generate for {first} or later, or add the catalogue's values for earlier "
                                     "months with their source", first=_period_text(first)))])


def make_context(country_code: str, period: int, institution_ids, enforcer_ids) -> Context:
    country = COUNTRIES[country_code]
    catalogue = load_catalogue(country=country_code)
    check_period_covered(catalogue, period)
    firsts = benefit_first_months(catalogue)
    # a benefit whose values start after the period has no rights yet; no right starts before its first month
    codes = {role: code for role, code in ROLE_CODES[country_code].items()
             if code in catalogue.benefit_codes and firsts[code] <= period}
    first_month, award_months, protected, decided = {}, {}, set(), set()
    for role, code in codes.items():
        benefit = catalogue.benefit(code)
        first_month[role] = firsts[code]
        if benefit.info.get("award_months"):
            award_months[role] = int(benefit.info["award_months"])
        if benefit.protected:
            protected.add(role)
        if benefit.decided_amount:
            decided.add(role)
    post_allowed = {role: catalogue.benefit(code).post_allowed for role, code in codes.items()}
    return Context(country, catalogue, period, codes, first_month, frozenset(protected), award_months,
                   np.asarray(institution_ids, dtype=np.int64), np.asarray(enforcer_ids, dtype=np.int64),
                   frozenset(decided), post_allowed)


def _param(ctx: Context, role: str, name: str) -> np.ndarray:
    """A parameter of the role's benefit in force in the period (its first value if the period is earlier)."""
    benefit = ctx.catalogue.benefit(ctx.codes[role])
    values = benefit.value_on(name, month_first_date(ctx.period))
    if values is None:
        values = benefit.parameters[name][0][1]
    return np.asarray(values, dtype=np.int64)


# ---- households and persons -----------------------------------------------------------------------------

ADULT, ELDERLY, CHILD = 0, 1, 2


@dataclass
class People:
    """One chunk's households and persons as parallel numpy arrays (persons ordered by household)."""

    household_count: int
    place: np.ndarray            # per household: index into country.places
    formed_days: np.ndarray      # per household: day the household was formed
    cyrillic: np.ndarray         # per household: names recorded in Cyrillic
    family: np.ndarray           # per household: family-name index
    first: np.ndarray            # per household: position of its first person
    size: np.ndarray             # per household: members
    adults: np.ndarray           # per household: adults 18-64
    children: np.ndarray         # per household: children 0-17
    household: np.ndarray        # per person
    category: np.ndarray         # per person: ADULT, ELDERLY, CHILD
    female: np.ndarray
    birth_days: np.ndarray
    death_days: np.ndarray       # -1 = alive
    disabled: np.ndarray
    without_care: np.ndarray     # child without parental care
    child_rank: np.ndarray       # 0 = oldest child of the household; -1 for others
    given: pa.Array | None = None        # names and tax ids: drawn once the chunk is truncated
    family_name: pa.Array | None = None
    patronymic: pa.Array | None = None
    tax_id: pa.Array | None = None

    def age_years(self, on_days: int) -> np.ndarray:
        return (on_days - self.birth_days) // 365.25

    @property
    def head(self) -> np.ndarray:
        return self.first

    @property
    def spouse(self) -> np.ndarray:
        """Second member where the household has two or more grown-ups, else -1."""
        grown = self.size - self.children
        return np.where(grown >= 2, self.first + 1, -1)


def draw_people(rng, ctx: Context, household_count: int) -> People:
    h = household_count
    adults = _choice(rng, h, [0.30, 0.55, 0.15]) + 1
    children = _choice(rng, h, [0.38, 0.22, 0.22, 0.11, 0.04, 0.02, 0.01])
    elderly = _choice(rng, h, [0.70, 0.21, 0.09])
    pensioners = rng.random(h) < 0.14       # elderly living alone or as a couple
    adults[pensioners], children[pensioners] = 0, 0
    elderly[pensioners] = _choice(rng, int(pensioners.sum()), [0.6, 0.4]) + 1
    size = adults + elderly + children
    first = np.concatenate(([0], np.cumsum(size)[:-1]))
    household = np.repeat(np.arange(h), size)
    position = np.arange(len(household)) - first[household]
    category = np.where(position < adults[household], ADULT,
                        np.where(position < (adults + elderly)[household], ELDERLY, CHILD))
    child_rank = np.where(category == CHILD, position - (adults + elderly)[household], -1)
    age_years, female = _draw_ages(rng, household, category, child_rank, adults, children, first)
    end_days = ctx.end_days
    birth_days = end_days - (age_years * 365.25 + rng.random(len(household)) * 365).astype(np.int64)
    # the oldest child is born first: sort each household's children by birth day
    kids = np.flatnonzero(category == CHILD)
    order = np.lexsort((birth_days[kids], household[kids]))
    birth_days[kids] = birth_days[kids][order]
    # about one birth in sixty is a twin: the younger sibling shares the elder's birthday (the child
    # allowance caps the count of children "twins excepted")
    twin = (child_rank > 0) & (rng.random(len(household)) < 0.017)
    birth_days[twin] = birth_days[np.flatnonzero(twin) - 1]
    place = _choice(rng, h, [p[4] for p in ctx.country.places])
    formed = ctx.start_days - rng.integers(365, 25 * 365, h)
    return People(
        household_count=h, place=place, formed_days=formed,
        cyrillic=rng.random(h) < ctx.country.cyrillic_share,
        family=rng.integers(0, len(ctx.country.family_male), h), first=first, size=size, adults=adults,
        children=children, household=household, category=category, female=female, birth_days=birth_days,
        death_days=_draw_deaths(rng, ctx, category, birth_days),
        disabled=rng.random(len(household)) < np.choose(category, [0.05, 0.14, 0.025]),
        without_care=(category == CHILD) & (rng.random(len(household)) < 0.015),
        child_rank=child_rank)


def _draw_ages(rng, household, category, child_rank, adults, children, first):
    n = len(household)
    kid_age = rng.integers(0, 18, n)
    kids = category == CHILD
    oldest_kid = np.maximum.reduceat(np.where(kids, kid_age, 0), first)   # households are never empty
    position = np.arange(n) - first[household]
    parent_age = np.clip(oldest_kid[household] + rng.integers(20, 40, n), 18, 64)
    free_age = rng.integers(18, 65, n)
    has_kids = children[household] > 0
    head_age = np.where(has_kids, parent_age, free_age)
    partner_age = np.clip(head_age[first[household]] + rng.integers(-6, 7, n), 18, 64)
    age = np.where(position == 0, head_age, np.where(position == 1, partner_age, rng.integers(18, 31, n)))
    age = np.where(category == ELDERLY, np.minimum(65 + rng.exponential(9.0, n).astype(np.int64), 98), age)
    age = np.where(kids, kid_age, age)
    single_parent = (adults == 1) & (children > 0)
    head_female = rng.random(len(adults)) < np.where(single_parent, 0.85, 0.35)
    female = rng.random(n) < np.where(category == ELDERLY, 0.6, 0.5)
    female = np.where(position == 0, head_female[household], female)
    partner = (position == 1) & (category != CHILD)
    female = np.where(partner & (rng.random(n) < 0.9), ~head_female[household], female)
    return age, female


def _draw_deaths(rng, ctx: Context, category, birth_days) -> np.ndarray:
    """A few deaths in the last three months of the period, mostly of the elderly."""
    n = len(category)
    dies = rng.random(n) < np.choose(category, [0.0005, 0.008, 0.0001])
    window_start = int(_month_start_days(ctx.period - 2))
    day = rng.integers(window_start, ctx.end_days + 1, n)
    return np.where(dies, np.maximum(day, birth_days), -1)


# ---- rights: drafts per role ----------------------------------------------------------------------------

PERSON, GUARDIAN, INSTITUTION = 0, 1, 2      # how the recipient of a right relates to its beneficiary
DRAFT_FIELDS = ("role", "person", "recipient", "recipient_kind", "institution", "grade", "birth_order",
                "income", "valid_from", "valid_to", "decided_on", "amount")


def _draft(role: str, person, recipient, recipient_kind, *, grade=0, birth_order=0, income=-1,
           valid_from, valid_to=-1, decided_on, institution=-1, amount=-1) -> dict:
    n = len(person)
    values = dict(role=ROLES.index(role), person=person, recipient=recipient, recipient_kind=recipient_kind,
                  institution=institution, grade=grade, birth_order=birth_order, income=income,
                  valid_from=valid_from, valid_to=valid_to, decided_on=decided_on, amount=amount)
    return {key: np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy() for key, value in values.items()}


def _ongoing(rng, ctx: Context, role: str, earliest_days: np.ndarray, back_months_max: int):
    """valid_from spread over past years (never before `earliest_days`), decided soon after; award end if any."""
    n = len(earliest_days)
    earliest_days = np.maximum(earliest_days, _month_start_days(ctx.first_month[role]))   # catalogue's first date
    months = ctx.period - (rng.random(n) ** 1.2 * (back_months_max + 1)).astype(np.int64)
    months = np.minimum(np.maximum(months, _months_of_days(earliest_days)), ctx.period)
    award = ctx.award_months.get(role)
    if award:   # fixed-term awards: the current award started within its term and ends after it
        months = np.maximum(months, ctx.period - rng.integers(0, award, n))
    valid_from = _month_start_days(months)
    # decided within weeks, but before the period unless the right starts in it: retroactive decisions of
    # the period are made deliberately (Versions), at the share the register should have
    decided = valid_from + rng.integers(5, 75, n)
    decided = np.where(months < ctx.period, np.minimum(decided, ctx.start_days - 1), np.minimum(decided, ctx.end_days))
    valid_to = _month_end_days(months + award - 1) if award else np.full(n, -1)
    return valid_from, valid_to, decided


def draw_rights(rng, ctx: Context, ppl: People) -> tuple[dict, np.ndarray]:
    """All rights arising from the chunk's households (unordered drafts) and the household MO flags."""
    today = ctx.end_days
    age = ppl.age_years(today)
    alive_at_start = ppl.death_days < 0
    unable = _unable_to_work(ppl, age)
    single = (ppl.adults == 1) & (ppl.children > 0)
    drafts, means_households, means_draft = [], np.zeros(ppl.household_count, dtype=bool), None
    if "means" in ctx.codes:
        means_draft, means_households = _means_rights(rng, ctx, ppl, age, single, unable)
        drafts.append(means_draft)
    if "per_child" in ctx.codes:
        drafts.append(_per_child_rights(rng, ctx, ppl, means_households))
    li_grade = np.zeros(len(ppl.household), dtype=np.int64)
    if "disability" in ctx.codes:
        draft = _disability_rights(rng, ctx, ppl, age)
        li_grade[draft["person"]] = draft["grade"]
        drafts.append(draft)
    if "care" in ctx.codes:
        drafts.append(_care_rights(rng, ctx, ppl, li_grade))
    if "carer" in ctx.codes:
        drafts.append(_carer_rights(rng, ctx, ppl, li_grade))
    if "mother" in ctx.codes:
        drafts.append(_mother_rights(rng, ctx, ppl, age))
    if "veteran" in ctx.codes:
        drafts.extend(_veteran_rights(rng, ctx, ppl, age))
    if "veteran_family" in ctx.codes:
        drafts.append(_veteran_family_rights(rng, ctx, ppl))
    if "foster" in ctx.codes:
        drafts.append(_foster_rights(rng, ctx, ppl, age))
    if "birth" in ctx.codes:
        drafts.append(_birth_rights(rng, ctx, ppl))
    if "funeral" in ctx.codes:
        drafts.append(_funeral_rights(rng, ctx, ppl, alive_at_start, means_draft))
    merged = {key: np.concatenate([d[key] for d in drafts]) for key in DRAFT_FIELDS}
    return merged, means_households


def _unable_to_work(ppl: People, age: np.ndarray) -> np.ndarray:
    """Per household: no member of working age who is able to work."""
    able = (ppl.category == ADULT) & ~ppl.disabled & (age >= 18) & (age < 65)
    count = np.bincount(ppl.household, weights=able, minlength=ppl.household_count)
    return count == 0


def _means_threshold(ctx: Context, ppl: People, age, single, unable) -> np.ndarray:
    """Per household: the monthly amount the means test guarantees (income above it gets nothing)."""
    code = ctx.country.code
    if code == "me":
        base = _param(ctx, "means", "base_by_size")
        return base[np.minimum(ppl.size, len(base)) - 1]
    if code == "rs":
        base = int(_param(ctx, "means", "base")[0])
        members = np.minimum(ppl.size, int(_param(ctx, "means", "max_members")[0]))
        child_count = np.minimum(ppl.children, members - 1)
        scale_bp = (int(_param(ctx, "means", "scale_first_adult_bp")[0])
                    + (members - 1 - child_count) * int(_param(ctx, "means", "scale_further_adult_bp")[0])
                    + child_count * int(_param(ctx, "means", "scale_child_bp")[0]))
        supplement = np.where(unable | single, int(_param(ctx, "means", "supplement_bp")[0]), 0)
        return base * scale_bp * (10_000 + supplement) // 10**8
    guaranteed = np.where(
        (ppl.category == CHILD) & (age < 6),
        _param(ctx, "means", "subsistence_child_under_6")[0] * _param(ctx, "means", "guaranteed_child_bp")[0],
        np.where(ppl.category == CHILD,
                 _param(ctx, "means", "subsistence_child_6_18")[0] * _param(ctx, "means", "guaranteed_child_bp")[0],
                 np.where(ppl.disabled | (ppl.category == ELDERLY),
                          _param(ctx, "means", "subsistence_disabled")[0]
                          * _param(ctx, "means", "guaranteed_disabled_bp")[0],
                          _param(ctx, "means", "subsistence_working_age")[0]
                          * _param(ctx, "means", "guaranteed_working_age_bp")[0]))) // 10_000
    return np.bincount(ppl.household, weights=guaranteed, minlength=ppl.household_count).astype(np.int64)


def _means_rights(rng, ctx, ppl, age, single, unable):
    h = ppl.household_count
    chosen = rng.random(h) < 0.15 + 0.25 * single + 0.10 * unable
    households = np.flatnonzero(chosen)
    threshold = _means_threshold(ctx, ppl, age, single, unable)[households]
    # a third without any income; the rest spread up to 15 % above the threshold, where nothing is due
    income = np.where(rng.random(len(households)) < 0.35, 0,
                      (threshold * rng.uniform(0.0, 1.15, len(households))).astype(np.int64))
    head = ppl.head[households]
    start, end, decided = _ongoing(rng, ctx, "means", ppl.formed_days[households], 96)
    return _draft("means", head, head, PERSON, income=income, valid_from=start, valid_to=end,
                  decided_on=decided), chosen


def _per_child_rights(rng, ctx, ppl, means_households):
    with_kids = ppl.children > 0
    chosen = np.flatnonzero(with_kids & (rng.random(ppl.household_count) < 0.5 + 0.35 * means_households))
    oldest_kid = ppl.first[chosen] + ppl.size[chosen] - ppl.children[chosen]
    head = ppl.head[chosen]
    fostered = np.bincount(ppl.household, weights=ppl.without_care, minlength=ppl.household_count) > 0
    guardian = fostered[chosen] | (ppl.category[head] == ELDERLY)
    start, end, decided = _ongoing(rng, ctx, "per_child", ppl.birth_days[oldest_kid], 120)
    return _draft("per_child", head, head, np.where(guardian, GUARDIAN, PERSON), valid_from=start,
                  valid_to=end, decided_on=decided)


def _institution_or(rng, ctx, n, share):
    """Institution index for a share of rights (where the country has institutions), else -1."""
    if len(ctx.institution_ids) == 0:
        return np.full(n, -1)
    return np.where(rng.random(n) < share, rng.integers(0, len(ctx.institution_ids), n), -1)


def _disability_rights(rng, ctx, ppl, age):
    chosen = np.flatnonzero(ppl.disabled & (rng.random(len(age)) < 0.5))
    grade = np.where(rng.random(len(chosen)) < 0.35, 1, 2)
    head = ppl.head[ppl.household[chosen]]
    child = ppl.category[chosen] == CHILD
    institution = _institution_or(rng, ctx, len(chosen), np.where(ppl.category[chosen] == ELDERLY, 0.10, 0.04))
    institution = np.where(child, -1, institution)
    kind = np.where(institution >= 0, INSTITUTION, np.where(child, GUARDIAN, PERSON))
    recipient = np.where(child, head, chosen)
    start, end, decided = _ongoing(rng, ctx, "disability", ppl.birth_days[chosen] + 60, 180)
    return _draft("disability", chosen, recipient, kind, grade=grade, institution=institution,
                  valid_from=start, valid_to=end, decided_on=decided)


def _care_rights(rng, ctx, ppl, li_grade):
    """Care allowance: every LI grade 1 beneficiary and some frail elderly; often paid to the carer."""
    frail = (ppl.category == ELDERLY) & ~ppl.disabled & (rng.random(len(li_grade)) < 0.05)
    chosen = np.flatnonzero((li_grade == 1) | frail)
    household = ppl.household[chosen]
    head, spouse = ppl.head[household], ppl.spouse[household]
    carer = np.where(head != chosen, head, spouse)
    child = ppl.category[chosen] == CHILD
    by_carer = child | ((carer >= 0) & (rng.random(len(chosen)) < 0.5))
    institution = np.where(by_carer, -1, _institution_or(rng, ctx, len(chosen), 0.05))
    recipient = np.where(by_carer, carer, chosen)
    kind = np.where(institution >= 0, INSTITUTION, np.where(by_carer, GUARDIAN, PERSON))
    start, end, decided = _ongoing(rng, ctx, "care", ppl.birth_days[chosen] + 60, 150)
    return _draft("care", chosen, recipient, kind, institution=institution, valid_from=start, valid_to=end,
                  decided_on=decided)


def _carer_rights(rng, ctx, ppl, li_grade):
    """Allowance to a parent caring for a child with a disability benefit (the parent is the beneficiary)."""
    cared = (li_grade > 0) & (ppl.category == CHILD)
    households = np.flatnonzero((np.bincount(ppl.household, weights=cared, minlength=ppl.household_count) > 0)
                                & (rng.random(ppl.household_count) < 0.6))
    head = ppl.head[households]
    start, end, decided = _ongoing(rng, ctx, "carer", ppl.formed_days[households], 36)
    return _draft("carer", head, head, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _mother_of(ppl: People) -> np.ndarray:
    """Per household: the mother (female head, else female second grown-up, else the head)."""
    head, spouse = ppl.head, ppl.spouse
    spouse_female = (spouse >= 0) & ppl.female[np.maximum(spouse, 0)]
    return np.where(ppl.female[head], head, np.where(spouse_female, spouse, head))


def _mother_rights(rng, ctx, ppl, age):
    mother = _mother_of(ppl)
    ok = (ppl.children > 0) & ppl.female[mother] & (age[mother] < 50)
    households = np.flatnonzero(ok & (rng.random(ppl.household_count) < 0.05))
    chosen = mother[households]
    youngest = ppl.first[households] + ppl.size[households] - 1
    start, end, decided = _ongoing(rng, ctx, "mother", ppl.birth_days[youngest], 24)
    return _draft("mother", chosen, chosen, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _veteran_rights(rng, ctx, ppl, age):
    chosen = np.flatnonzero(~ppl.female & (age >= 50) & (ppl.category != CHILD) & (rng.random(len(age)) < 0.035))
    grade = _choice(rng, len(chosen), VETERAN_GRADE_WEIGHTS) + 1
    start, end, decided = _ongoing(rng, ctx, "veteran", ppl.birth_days[chosen] + 40 * 365, 300)
    drafts = [_draft("veteran", chosen, chosen, PERSON, grade=grade, valid_from=start, valid_to=end,
                     decided_on=decided)]
    if "veteran_care" in ctx.codes:
        cared = (grade <= 3) & (rng.random(len(chosen)) < 0.6)
        drafts.append(_draft("veteran_care", chosen[cared], chosen[cared], PERSON, valid_from=start[cared],
                             valid_to=end[cared], decided_on=decided[cared]))
    return drafts


def _veteran_family_rights(rng, ctx, ppl):
    """Family disability benefit: widows of fallen or disabled veterans (a fifth at the increased rate)."""
    chosen = np.flatnonzero((ppl.category == ELDERLY) & ppl.female & (rng.random(len(ppl.household)) < 0.04))
    start, end, decided = _ongoing(rng, ctx, "veteran_family", ppl.birth_days[chosen] + 50 * 365, 240)
    grade = np.where(rng.random(len(chosen)) < 0.8, 1, 2)
    return _draft("veteran_family", chosen, chosen, PERSON, grade=grade, valid_from=start, valid_to=end,
                  decided_on=decided)


def _foster_rights(rng, ctx, ppl, age):
    """Young adults living alone after growing up without parental care, from their 18th birthday."""
    lone = (ppl.size == 1) & (ppl.adults == 1)
    chosen = ppl.first[lone & (age[ppl.first] <= 25) & (rng.random(ppl.household_count) < 0.5)]
    start, end, decided = _ongoing(rng, ctx, "foster", ppl.birth_days[chosen] + 18 * 366, 96)
    return _draft("foster", chosen, chosen, PERSON, valid_from=start, valid_to=end, decided_on=decided)


def _birth_rights(rng, ctx, ppl):
    """Birth grants claimed within the claim window (one-off) or still in instalments (lump sum + plan)."""
    benefit = ctx.catalogue.benefit(ctx.codes["birth"])
    window_months = 12 if benefit.kind == "one_off" else 36
    earliest = max(int(_month_start_days(ctx.first_month["birth"])), ctx.end_days - window_months * 30)
    births = np.flatnonzero((ppl.category == CHILD) & (ppl.birth_days >= earliest)
                            & (rng.random(len(ppl.household)) < 0.8))
    mother = _mother_of(ppl)[ppl.household[births]]
    birth_month = _months_of_days(ppl.birth_days[births])
    start = _month_start_days(birth_month)
    decided = np.minimum(ppl.birth_days[births] + rng.integers(10, 120, len(births)), ctx.end_days)
    end = _month_end_days(birth_month) if benefit.kind == "one_off" else -1
    return _draft("birth", mother, mother, PERSON, birth_order=ppl.child_rank[births] + 1, valid_from=start,
                  valid_to=end, decided_on=decided)


def _funeral_rights(rng, ctx, ppl, alive, means_draft=None):
    """Funeral grants to the member who paid for the funeral of someone who died in the window. A grant that is a
    multiple of the family's means-tested assistance (UA_POHOV, RULES.md Readings 12) only where the household
    has that assistance in force in the month of death."""
    dead = np.flatnonzero(~alive)
    if ctx.catalogue.benefit(ctx.codes["funeral"]).multiple_of_benefit:
        dead = dead[_assisted_in_month(ppl, means_draft, dead)]
    household = ppl.household[dead]
    head, spouse = ppl.head[household], ppl.spouse[household]
    payer = np.where(head != dead, head, spouse)
    payer_alive = (payer >= 0) & (ppl.death_days[np.maximum(payer, 0)] < 0)
    in_force = _months_of_days(ppl.death_days[dead]) >= ctx.first_month["funeral"]
    keep = payer_alive & (ppl.category[np.maximum(payer, 0)] != CHILD) & (rng.random(len(dead)) < 0.7) & in_force
    dead, payer = dead[keep], payer[keep]
    month = _months_of_days(ppl.death_days[dead])
    decided = np.minimum(ppl.death_days[dead] + rng.integers(3, 40, len(dead)), ctx.end_days)
    amount = -1
    if "funeral" in ctx.decided_amount_roles:   # e.g. 2 x the family's monthly assistance
        amount = 2 * rng.integers(45, 190, len(dead)) * ctx.euro_minor
    return _draft("funeral", payer, payer, PERSON, valid_from=_month_start_days(month),
                  valid_to=_month_end_days(month), decided_on=decided, amount=amount)


def _assisted_in_month(ppl, means_draft, dead) -> np.ndarray:
    """Per dead person: the household's means-tested right (one per household, its head's) covers the month."""
    if means_draft is None:
        return np.zeros(len(dead), dtype=bool)
    household = ppl.household[dead]
    start, end = np.full(ppl.household_count, -1), np.full(ppl.household_count, -1)
    start[ppl.household[means_draft["person"]]] = means_draft["valid_from"]
    end[ppl.household[means_draft["person"]]] = means_draft["valid_to"]
    month = _months_of_days(ppl.death_days[dead])
    covered = (start[household] >= 0) & (start[household] <= _month_end_days(month))
    return covered & ((end[household] < 0) | (end[household] >= _month_start_days(month)))


# ---- text columns ---------------------------------------------------------------------------------------

def _scripts(latin: tuple, country: CountryData) -> list:
    """The list followed by its Cyrillic transliteration (Ukrainian lists are Cyrillic already)."""
    if country.code == "ua":
        return list(latin) * 2
    return list(latin) + [latin_to_cyrillic(text, montenegrin=country.code == "me") for text in latin]


def _addresses(rng, country: CountryData, place: np.ndarray, cyrillic: np.ndarray) -> dict:
    """Structured postal addresses in the payee's municipality, in the script of the payee's name."""
    n = len(place)
    places = country.places
    offset = np.where(cyrillic, 1, 0)
    street = rng.integers(0, len(country.streets), n)
    number = rng.integers(1, 160, n)
    suffix = _choice(rng, n, [0.85, 0.08, 0.04, 0.03])          # none, a, b, "bb" (no number)
    letters = ["", "a", "b", "bb"] if country.code != "ua" else ["", "а", "б", ""]
    cyr_letters = ["", "а", "б", "бб"]
    numbers = pc.binary_join_element_wise(
        pc.if_else(pa.array(suffix == 3), pa.scalar(""), pc.cast(pa.array(number), pa.string())),
        pc.if_else(pa.array(cyrillic), _pick(cyr_letters, suffix), _pick(letters, suffix)), "")
    towns = _scripts(tuple(p[0] for p in places), country)
    districts = _scripts(tuple(p[1] for p in places), country)
    regions = _scripts(tuple(p[2] for p in places), country)
    shift = offset * len(places)
    return {
        "street": _pick(_scripts(country.streets, country), street + offset * len(country.streets)),
        "house_number": numbers,
        "postcode": _pick([p[3] for p in places], place),
        "town": _pick(towns, place + shift),
        "district": _pick(districts, place + shift),
        "region": _pick(regions, place + shift),
    }


def _phones(rng, country: CountryData, n: int, share: float) -> pa.Array:
    prefix = _pick(country.phone_prefixes, rng.integers(0, len(country.phone_prefixes), n))
    number = _digits(rng.integers(0, 10**6 if country.code != "ua" else 10**7, n),
                     6 if country.code != "ua" else 7)
    phones = pc.binary_join_element_wise(prefix, number, "")
    return pc.if_else(pa.array(rng.random(n) < share), phones, pa.scalar(None, pa.string()))


def _random_names(rng, country: CountryData, n: int, cyrillic: np.ndarray):
    """(given, family) name arrays of n random adults (creditors)."""
    female = rng.random(n) < 0.5
    given, family, _ = _name_columns(rng, country, female, rng.integers(0, len(country.family_male), n), cyrillic)
    return given, family


def _name_columns(rng, country: CountryData, female, family_index, cyrillic):
    """given, family and patronymic columns for persons of known sex, family and script."""
    n = len(female)
    males, females = len(country.male), len(country.female)
    given_index = np.where(female, males + rng.integers(0, females, n), rng.integers(0, males, n))
    given = _pick(_scripts(country.male + country.female, country),
                  given_index + np.where(cyrillic, males + females, 0))
    families = len(country.family_male)
    if country.code == "ua":
        family_list = list(country.family_male) + list(country.family_female)
        family = _pick(family_list, family_index + np.where(female, families, 0))
        fathers = len(country.patronymic_male)
        patronymic = _pick(list(country.patronymic_male) + list(country.patronymic_female),
                           rng.integers(0, fathers, n) + np.where(female, fathers, 0))
    else:
        family = _pick(_scripts(country.family_male, country), family_index + np.where(cyrillic, families, 0))
        patronymic = pa.nulls(n, pa.string())
    return given, family, patronymic


def _display_names(country: CountryData, given, family, patronymic) -> pa.Array:
    if country.code == "ua":   # official Ukrainian order: family name, given name, patronymic
        return pc.binary_join_element_wise(family, given, patronymic, " ")
    return pc.binary_join_element_wise(given, family, " ")


# ---- one chunk ------------------------------------------------------------------------------------------

@dataclass
class NextIds:
    """The next free id of every kind; chunks take consecutive ranges, so ids are dense and ordered."""

    person: int = 1
    household: int = 1
    right: int = 1
    payee: int = 1
    order: int = 1


def generate_chunk(seed_keys: tuple, ctx: Context, rights: int, ids: NextIds, new_decisions=False) -> dict:
    """Tables of `rights` rights with their households, persons, payees and deduction orders; advances ids.

    new_decisions: every right is a decision of the period (the new rights of an advanced register).
    """
    assert rights > 0
    households = int(rights / RIGHTS_PER_HOUSEHOLD[ctx.country.code] * 1.15) + 8
    for attempt in range(20):
        rng = _rng(*seed_keys, attempt)
        ppl = draw_people(rng, ctx, households)
        drafts, means_households = draw_rights(rng, ctx, ppl)
        if len(drafts["person"]) >= rights:
            break
        households = int(households * 1.5) + 16
    else:  # pragma: no cover - twenty redraws each 50 % larger cannot all be short
        raise AssertionError("household draw never produced enough rights")
    person_household = ppl.household[drafts["person"]]
    order = np.lexsort((drafts["role"], drafts["person"], person_household))[:rights]
    drafts = {key: value[order] for key, value in drafts.items()}
    keep = np.bincount(person_household[order], minlength=ppl.household_count) > 0
    ppl, person_map = _keep_households(ppl, keep)
    drafts["person"], drafts["recipient"] = person_map[drafts["person"]], person_map[drafts["recipient"]]
    _name_people(rng, ctx, ppl)
    if new_decisions:
        _as_new_decisions(rng, ctx, drafts)
    rows = _versions(rng, ctx, drafts, new_decisions)
    payees, payee_of_right = _payees(rng, ctx, ppl, drafts, ids)
    deductions, creditors = _deductions(rng, ctx, ppl, drafts, rows, ids, len(payees["payee_id"]))
    tables = {
        "persons": _persons_table(rng, ctx, ppl, ids),
        "households": _households_table(ppl, ids),
        "rights": _rights_table(rng, ctx, ppl, drafts, rows, payee_of_right, means_households, ids),
        "payees": pa.concat_tables([_table(REGISTER["payees"], payees), creditors]),
        "deductions": deductions,
    }
    ids.person += len(ppl.household)
    ids.household += ppl.household_count
    ids.right += rights
    ids.payee += tables["payees"].num_rows
    ids.order += deductions.num_rows
    return tables


def _keep_households(ppl: People, keep: np.ndarray) -> tuple[People, np.ndarray]:
    """Only the households in `keep` (a register holds the households of its beneficiaries), renumbered.

    Returns the smaller People and the map old person index -> new person index (-1 for dropped persons).
    """
    keep_person = keep[ppl.household]
    person_map = np.cumsum(keep_person) - 1
    household_map = np.cumsum(keep) - 1
    fields = {}
    for name, value in vars(ppl).items():
        if value is None:
            continue
        if name == "household_count":
            fields[name] = int(keep.sum())
        elif name == "first":
            fields[name] = person_map[value[keep]]
        elif name == "household":
            fields[name] = household_map[value[keep_person]]
        elif len(value) == ppl.household_count:
            fields[name] = value[keep]
        else:
            fields[name] = value[keep_person]
    return People(**fields), np.where(keep_person, person_map, -1)


def _as_new_decisions(rng, ctx: Context, drafts: dict) -> None:
    """Rewrite dates so that every right is decided in the period, valid from its month or up to 2 back."""
    n = len(drafts["role"])
    event = np.isin(drafts["role"], [ROLES.index(r) for r in EVENT_ROLES])
    months = np.maximum(ctx.period - rng.integers(0, 3, n), _months_of_days(drafts["valid_from"]))
    months = np.minimum(months, ctx.period)
    drafts["valid_from"] = np.where(event, drafts["valid_from"], _month_start_days(months))
    award = np.array([ctx.award_months.get(role, 0) for role in ROLES])[drafts["role"]]
    drafts["valid_to"] = np.where(event, drafts["valid_to"],
                                  np.where(award > 0, _month_end_days(months + award - 1), -1))
    drafts["decided_on"] = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, n)


@dataclass
class Versions:
    """Row layout of the rights table: row -> draft index, version, dates and changed facts."""

    draft: np.ndarray
    version: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray       # -1 = open-ended
    decided_on: np.ndarray
    income: np.ndarray
    grade: np.ndarray
    toggle_mo: np.ndarray      # the later version records a changed MO status of the household
    retro: np.ndarray          # per draft: has a retroactive decision in the period


def _versions(rng, ctx: Context, drafts: dict, new_decisions: bool) -> Versions:
    """Versions per right: ~5 % retroactive decisions of the period, ~3 % awards that ended in the past."""
    n = len(drafts["role"])
    valid_from, valid_to = drafts["valid_from"].copy(), drafts["valid_to"].copy()
    decided, income, grade = drafts["decided_on"].copy(), drafts["income"].copy(), drafts["grade"].copy()
    retro = np.zeros(n, dtype=bool)
    extra = np.zeros(0, dtype=np.int64)
    extra_from = extra_decided = extra_income = extra_grade = extra
    toggle = np.zeros(0, dtype=bool)
    if not new_decisions:
        start_month = _months_of_days(valid_from)
        first_month = np.array([ctx.first_month.get(role, 0) for role in ROLES])[drafts["role"]]
        eligible = (~np.isin(drafts["role"], [ROLES.index(r) for r in EVENT_ROLES])
                    & (start_month <= ctx.period - 2) & (decided < ctx.start_days)
                    & (np.maximum(first_month, start_month + 1) <= ctx.period - 1))
        candidates = np.flatnonzero(eligible)
        chosen = np.sort(rng.permutation(candidates)[:int(round(RETRO_SHARE * n))])
        span = np.minimum(12, ctx.period - np.maximum(first_month[chosen], start_month[chosen] + 1))
        back = 1 + (rng.random(len(chosen)) * span).astype(np.int64)
        new_start = _month_start_days(ctx.period - back)
        new_decided = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, len(chosen))
        fact_role = np.isin(drafts["role"][chosen], [ROLES.index(r) for r in FACT_ROLES])
        award_role = np.isin(drafts["role"][chosen], [ROLES.index(r) for r in ctx.award_months])
        change = fact_role & ((rng.random(len(chosen)) < 0.75) | award_role)
        late = chosen[~change]       # first decided only now, valid from months back: arrears
        valid_from[late], decided[late] = new_start[~change], new_decided[~change]
        extra = chosen[change]       # a new version from a past month: income, grade or MO status changed
        valid_to[extra] = new_start[change] - 1
        extra_from, extra_decided = new_start[change], new_decided[change]
        extra_income, extra_grade = _changed_facts(rng, drafts, extra)
        toggle = drafts["role"][extra] == ROLES.index("per_child")
        retro[chosen] = True
        _close_some(rng, ctx, drafts, valid_from, valid_to, eligible & ~retro)
    draft = np.concatenate([np.arange(n), extra])
    order = np.lexsort((np.r_[np.ones(n), np.full(len(extra), 2)], draft))
    return Versions(
        draft=draft[order],
        version=np.r_[np.ones(n, dtype=np.int64), np.full(len(extra), 2)][order],
        valid_from=np.r_[valid_from, extra_from][order],
        valid_to=np.r_[valid_to, drafts["valid_to"][extra]][order],
        decided_on=np.r_[decided, extra_decided][order],
        income=np.r_[income, extra_income][order],
        grade=np.r_[grade, extra_grade][order],
        toggle_mo=np.r_[np.zeros(n, dtype=bool), toggle][order],
        retro=retro)


def _changed_facts(rng, drafts: dict, rows: np.ndarray):
    """Income and grade of a later version: incomes move (or drop to zero), grades move by one."""
    income, grade = drafts["income"][rows].copy(), drafts["grade"][rows].copy()
    means = income >= 0
    moved = (income * rng.uniform(0.4, 1.5, len(rows))).astype(np.int64)
    income = np.where(means, np.where(rng.random(len(rows)) < 0.2, 0, moved), -1)
    role = drafts["role"][rows]
    two_grades = np.isin(role, [ROLES.index("disability"), ROLES.index("veteran_family")])
    veteran = role == ROLES.index("veteran")
    step = np.where(rng.random(len(rows)) < 0.5, -1, 1)
    grade = np.where(two_grades, 3 - grade, np.where(veteran, np.clip(grade + step, 1, 10), grade))
    return income, grade


def _close_some(rng, ctx: Context, drafts, valid_from, valid_to, eligible) -> None:
    """Some awards ended 1-24 months ago (the right stays in the register with its end date)."""
    candidates = np.flatnonzero(eligible & (valid_to < 0))
    chosen = rng.permutation(candidates)[:int(round(CLOSED_SHARE * len(valid_from)))]
    start_month = _months_of_days(valid_from[chosen])
    back = 1 + (rng.random(len(chosen)) * np.minimum(24, ctx.period - start_month)).astype(np.int64)
    valid_to[chosen] = _month_end_days(ctx.period - back)


# ---- payees and deductions ------------------------------------------------------------------------------

def _channels(rng, n: int, post_share) -> np.ndarray:
    return np.where(rng.random(n) < post_share, "post", "bank")


def _payees(rng, ctx: Context, ppl: People, drafts: dict, ids: NextIds):
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
    no_post = np.array([not ctx.post_allowed.get(role, True) for role in ROLES])[drafts["role"][personal]]
    right_post = np.where(no_post, right_post * 0.25, right_post)
    post_share = np.zeros(count)
    np.maximum.at(post_share, inverse, right_post)
    channel = _channels(rng, count, post_share)
    household = ppl.household[person]
    cyrillic = ppl.cyrillic[household]
    names = _person_names(ctx, ppl, person)
    iban, bic = _bank_accounts(rng, ctx.country, count)
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
    columns.update(_addresses(rng, ctx.country, ppl.place[household], cyrillic))
    return columns, payee_of_right


def _person_names(ctx: Context, ppl: People, person: np.ndarray) -> pa.Array:
    take = pa.array(person)
    return _display_names(ctx.country, ppl.given.take(take), ppl.family_name.take(take),
                          ppl.patronymic.take(take))


def _name_people(rng, ctx: Context, ppl: People) -> None:
    """Names and tax ids of every person of the (truncated) chunk."""
    ppl.given, ppl.family_name, ppl.patronymic = _name_columns(
        rng, ctx.country, ppl.female, ppl.family[ppl.household], ppl.cyrillic[ppl.household])
    if ctx.country.code == "ua":
        ppl.tax_id = rnokpp(ppl.birth_days, ppl.female, rng)
    else:
        region = np.array([p[5] for p in ctx.country.places])[ppl.place[ppl.household]]
        ppl.tax_id = jmbg(ppl.birth_days, region, ppl.female, rng)


def _deductions(rng, ctx: Context, ppl: People, drafts: dict, rows: Versions, ids: NextIds, payee_count: int):
    """~3 % of rights carry deduction orders of every kind; third-party kinds name their creditor payee."""
    right, kind = _ordered_rights(rng, ctx, ppl, drafts)
    m = len(right)
    fixed, percent, use_percent, outstanding = _order_terms(rng, ctx, kind)
    first_from = rows.valid_from[rows.version == 1][right]
    months = np.maximum(ctx.period - rng.integers(0, 25, m), _months_of_days(first_from))
    valid_to = np.where(rng.random(m) < 0.1, _month_end_days(ctx.period + rng.integers(1, 25, m)), -1)
    # alimony and damages go to a person (the other parent, the injured party); enforcement to an officer
    personal = (kind == DEDUCTION_KINDS.index("alimony")) | (kind == DEDUCTION_KINDS.index("damages"))
    enforcement = kind == DEDUCTION_KINDS.index("enforcement")
    creditor_ids = ids.payee + payee_count + np.arange(int(personal.sum()))
    creditor = np.full(m, -1)
    creditor[personal] = creditor_ids
    creditor[enforcement] = ctx.enforcer_ids[rng.integers(0, len(ctx.enforcer_ids), int(enforcement.sum()))]
    household = ppl.household[drafts["person"][right[personal]]]
    table = _table(REGISTER["deductions"], {
        "order_id": pa.array(ids.order + np.arange(m)),
        "right_id": pa.array(ids.right + right),
        "kind": _pick(DEDUCTION_KINDS, kind),
        "priority": _int_array([DEDUCTION_PRIORITY[k] for k in DEDUCTION_KINDS], pa.int16()).take(pa.array(kind)),
        "fixed_minor": _int_array(fixed, pa.int64(), ~use_percent),
        "percent_bp": _int_array(percent, pa.int32(), use_percent),
        "outstanding_minor": _int_array(outstanding, pa.int64(), outstanding >= 0),
        "creditor_payee_id": _int_array(creditor, pa.int64(), creditor >= 0),
        "valid_from": _date_array(_month_start_days(months)),
        "valid_to": _date_array(valid_to, valid_to >= 0),
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
    protected = np.isin(drafts["role"], [ROLES.index(r) for r in ctx.protected_roles])
    # protected benefits accept only the recovery of overpayments, and rarely carry any order
    candidates = np.flatnonzero(grown_up & (drafts["recipient_kind"] != INSTITUTION)
                                & (~protected | (rng.random(n) < 0.1)))
    chosen = np.sort(rng.permutation(candidates)[:int(round(DEDUCTION_SHARE * n))])
    protected = protected[chosen]
    kinds = np.where(protected, DEDUCTION_KINDS.index("overpayment"), _choice(rng, len(chosen), [30, 10, 35, 25]))
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
    given, family = _random_names(rng, ctx.country, n, cyrillic)
    iban, bic = _bank_accounts(rng, ctx.country, n)
    columns = {
        "payee_id": pa.array(payee_ids, pa.int64()), "channel": pa.array(np.full(n, "bank")),
        "kind": pa.array(np.full(n, "creditor")), "name": pc.binary_join_element_wise(given, family, " "),
        "iban": iban, "bic": bic, "country": pa.array(np.full(n, ctx.country.iso)),
    }
    columns.update(_addresses(rng, ctx.country, place, cyrillic))
    return _table(REGISTER["payees"], columns)


def shared_payees(seed: int, country: CountryData, first_id: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Care institutions and enforcement officers: one payee each for the whole register."""
    rng = _rng(seed, 99, ord(country.code[0]), ord(country.code[1]))
    names = list(country.institutions) + list(country.enforcers)
    n = len(names)
    ids = first_id + np.arange(n)
    institutions = len(country.institutions)
    iban, bic = _bank_accounts(rng, country, n)
    place = _choice(rng, n, [p[4] for p in country.places])
    columns = {
        "payee_id": pa.array(ids), "channel": pa.array(np.full(n, "bank")),
        "kind": pa.array(["institution"] * institutions + ["creditor"] * (n - institutions)),
        "name": pa.array(names), "iban": iban, "bic": bic, "country": pa.array(np.full(n, country.iso)),
    }
    columns.update(_addresses(rng, country, place, np.full(n, country.code == "ua")))
    return _table(REGISTER["payees"], columns), ids[:institutions], ids[institutions:]


# ---- tables ---------------------------------------------------------------------------------------------

def _persons_table(rng, ctx: Context, ppl: People, ids: NextIds) -> pa.Table:
    municipality = [p[0] for p in ctx.country.places]
    alive = ppl.death_days < 0
    return _table(REGISTER["persons"], {
        "person_id": pa.array(ids.person + np.arange(len(ppl.household))),
        "birth_date": _date_array(ppl.birth_days),
        "death_date": _date_array(ppl.death_days, ~alive),
        "family_name": ppl.family_name, "given_name": ppl.given, "patronymic": ppl.patronymic,
        "tax_id": ppl.tax_id,
        "municipality": _pick(municipality, ppl.place[ppl.household]),
        "disabled": pa.array(ppl.disabled), "without_parental_care": pa.array(ppl.without_care),
    })


def _households_table(ppl: People, ids: NextIds) -> pa.Table:
    position = np.arange(len(ppl.household)) - ppl.first[ppl.household]
    role = np.where(position == 0, 0, np.where(ppl.category == CHILD, 2, 1))
    dead = ppl.death_days >= 0
    return _table(REGISTER["households"], {
        "household_id": pa.array(ids.household + ppl.household),
        "person_id": pa.array(ids.person + np.arange(len(ppl.household))),
        "role": _pick(("head", "adult", "child"), role),
        "member_from": _date_array(np.maximum(ppl.formed_days[ppl.household], ppl.birth_days)),
        "member_to": _date_array(ppl.death_days, dead),
    })


def _rights_table(rng, ctx, ppl, drafts, rows: Versions, payee_of_right, means_households, ids) -> pa.Table:
    draft = rows.draft
    person = drafts["person"][draft]
    household = ppl.household[person]
    age = ppl.age_years(ctx.end_days)
    single = ((ppl.adults == 1) & (ppl.children > 0))[household]
    unable = _unable_to_work(ppl, age)[household]
    toggled = np.zeros(len(drafts["role"]), dtype=bool)
    toggled[draft[rows.toggle_mo]] = True
    mo_family = means_households[household] ^ (toggled[draft] & (rows.version == 1))
    consent = (rng.random(len(drafts["role"])) < 0.05)[draft]
    codes = [ctx.codes.get(role, "") for role in ROLES]
    amount = drafts["amount"][draft]
    return _table(REGISTER["rights"], {
        "right_id": pa.array(ids.right + draft),
        "version": _int_array(rows.version, pa.int32()),
        "benefit": _pick(codes, drafts["role"][draft]),
        "person_id": pa.array(ids.person + person),
        "household_id": pa.array(ids.household + household),
        "payee_id": pa.array(payee_of_right[draft]),
        "valid_from": _date_array(rows.valid_from),
        "valid_to": _date_array(rows.valid_to, rows.valid_to >= 0),
        "decided_on": _date_array(rows.decided_on),
        "income_minor": _int_array(rows.income, pa.int64(), rows.income >= 0),
        "grade": _int_array(rows.grade, pa.int16(), rows.grade > 0),
        "birth_order": _int_array(drafts["birth_order"][draft], pa.int16(), drafts["birth_order"][draft] > 0),
        "mo_family": pa.array(mo_family), "single_parent": pa.array(single), "unable_to_work": pa.array(unable),
        "consent_full_recovery": pa.array(consent),
        "amount_minor": _int_array(amount, pa.int64(), amount >= 0),
        # RULES.md Readings 5 and 11: the application precedes its decision by 0-30 days; a few decisions of
        # the period correct the agency's own fault
        "applied_on": _date_array(rows.decided_on - rng.integers(0, 31, len(draft))),
        "agency_fault": pa.array((rows.decided_on >= ctx.start_days) & (rng.random(len(draft)) < 0.1)),
    })


# ---- the register ---------------------------------------------------------------------------------------

def _parquet_options(name: str) -> dict:
    dictionary = [column for column in REGISTER[name].names if column in DICTIONARY_COLUMNS]
    return {"compression": PARQUET_COMPRESSION, "use_dictionary": dictionary}


class _Writers:
    """One Parquet writer per table; each chunk becomes one row group, so memory stays per chunk."""

    def __init__(self, out_dir: Path):
        self.out_dir, self.writers, self.rows = out_dir, {}, dict.fromkeys(TABLES, 0)

    def write(self, name: str, table: pa.Table) -> None:
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.out_dir / f"{name}.parquet", REGISTER[name],
                                                  **_parquet_options(name))
        if table.num_rows:
            self.writers[name].write_table(table, row_group_size=table.num_rows)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for name in TABLES:   # an empty table is still written, with its schema
            if name not in self.writers:
                self.write(name, REGISTER[name].empty_table())
            self.writers[name].close()


def _check_arguments(rights: int, country: str) -> None:
    if country not in COUNTRIES:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}, got {country!r}")
    if not 1 <= int(rights) <= RIGHTS_MAX:
        raise ValueError(f"rights must be between 1 and {RIGHTS_MAX:,}, got {rights}")


def generate_register(out_dir, rights: int, seed: int, period: str, country: str = "me") -> dict:
    """Write persons, households, rights, payees and deductions (.parquet) of a synthetic register to out_dir.

    `rights` rights (each with one or two versions) as they stand at the end of `period` (YYYY-MM). The same
    arguments give byte-identical files. Returns a summary (counts per table, per benefit, per channel ...).
    """
    _check_arguments(rights, country)
    period_index = parse_period(period)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = COUNTRIES[country]
    shared, institution_ids, enforcer_ids = shared_payees(seed, data, 1)
    ctx = make_context(country, period_index, institution_ids, enforcer_ids)
    ids = NextIds(payee=1 + shared.num_rows)
    writers, stats = _Writers(out), _Stats()
    writers.write("payees", shared)
    stats.add({"payees": shared})
    try:
        for chunk, start in enumerate(range(0, int(rights), CHUNK_RIGHTS)):
            size = min(CHUNK_RIGHTS, int(rights) - start)
            tables = generate_chunk((seed, _country_key(country), period_index, chunk), ctx, size, ids)
            for name in TABLES:
                writers.write(name, tables[name])
            stats.add(tables)
    finally:
        writers.close()
    write_register_meta(out, country, ctx.catalogue.currency, _period_text(period_index), seed=int(seed))
    summary = stats.summary(out, country, period, seed, writers.rows, ctx)
    summary["households"] = ids.household - 1
    return summary


def _country_key(country: str) -> int:
    return ord(country[0]) * 256 + ord(country[1])


class _Stats:
    """Running totals for the summary, gathered chunk by chunk (the tables themselves are not kept)."""

    def __init__(self):
        self.benefits, self.channels, self.kinds = {}, {}, {}
        self.retro = self.deaths = self.versions = self.cyrillic = 0

    @staticmethod
    def _count(target: dict, column) -> None:
        counts = pc.value_counts(column)
        for value, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            target[value] = target.get(value, 0) + count

    def add(self, tables: dict) -> None:
        if "rights" in tables:
            rights = tables["rights"]
            first = pc.equal(rights["version"], 1)
            self._count(self.benefits, rights["benefit"].filter(first))
            self.retro += _retro_rights(rights, rights["decided_on"])
            self.versions += rights.num_rows
        if "persons" in tables:
            self.deaths += tables["persons"].num_rows - tables["persons"]["death_date"].null_count
            self.cyrillic += pc.sum(pc.match_substring_regex(tables["persons"]["given_name"],
                                                             "[\u0400-\u04FF]")).as_py() or 0
        if "payees" in tables:
            self._count(self.channels, tables["payees"]["channel"])
            self._count(self.kinds, tables["payees"]["kind"])
        if "deductions" in tables:
            self._count(self.kinds.setdefault("_orders", {}), tables["deductions"]["kind"])

    def summary(self, out, country, period, seed, rows, ctx) -> dict:
        orders = self.kinds.pop("_orders", {})
        return {
            "out_dir": str(out), "country": country, "period": period, "seed": seed,
            "currency": ctx.catalogue.currency,
            "rights": sum(self.benefits.values()), "right_versions": self.versions,
            "persons": rows["persons"], "household_members": rows["households"],
            "payees": rows["payees"], "deductions": rows["deductions"],
            "rights_by_benefit": dict(sorted(self.benefits.items())),
            "payees_by_channel": dict(sorted(self.channels.items())),
            "payees_by_kind": dict(sorted(self.kinds.items())),
            "deductions_by_kind": dict(sorted(orders.items())),
            "retroactive_rights": self.retro, "deaths": self.deaths, "persons_in_cyrillic": self.cyrillic,
            "files": [f"{name}.parquet" for name in TABLES],
        }


def _retro_rights(rights: pa.Table, decided_on) -> int:
    """Rights with a version decided in its period's month whose valid_from lies in an earlier month."""
    decided = pc.cast(decided_on, pa.int32()).to_numpy(zero_copy_only=False)
    start = pc.cast(rights["valid_from"], pa.int32()).to_numpy(zero_copy_only=False)
    latest_month = _months_of_days(decided).max() if len(decided) else 0
    retro = (_months_of_days(decided) == latest_month) & (_months_of_days(start) < latest_month)
    return len(np.unique(rights["right_id"].to_numpy()[retro]))


# ---- the register one month later -----------------------------------------------------------------------

NEW_RIGHT_SHARE = 0.012       # new decisions per month, as a share of the rights in the register
TERMINATION_SHARE = 0.008     # running rights ended by a decision of the month (some back to 2 months)
RETRO_CHANGE_SHARE = 0.03     # running rights with a new version from a past month (income, grade, MO status)
RENEWAL_SHARE = 0.7           # fixed-term awards that ended last month and are renewed
MONTHLY_DEATH_RATE = {ADULT: 0.0002, ELDERLY: 0.004, CHILD: 0.00002}


def _days(column, missing: int = -1) -> np.ndarray:
    return pc.fill_null(pc.cast(column, pa.int32()), missing).to_numpy(zero_copy_only=False).astype(np.int64)


def _read_tables(src: Path) -> dict:
    tables = {}
    for name in TABLES:
        raw = pq.read_table(src / f"{name}.parquet")
        columns = {f.name: raw[f.name].combine_chunks() for f in REGISTER[name] if f.name in raw.column_names}
        tables[name] = _table(REGISTER[name], columns) if raw.num_rows else REGISTER[name].empty_table()
    return tables


def _with(table: pa.Table, schema: pa.Schema, columns: dict) -> pa.Table:
    """`table` with some columns replaced, conformed to `schema` (keeps non-null fields non-null)."""
    merged = {name: (columns[name] if name in columns else table[name].combine_chunks()) for name in schema.names}
    return _table(schema, merged)


def _country_of(tables: dict) -> str:
    codes = pc.unique(tables["rights"]["benefit"]).to_pylist()
    prefixes = {code.split("_")[0].lower() for code in codes}
    if len(prefixes) != 1 or next(iter(prefixes)) not in COUNTRIES:
        raise ValueError(f"cannot tell the country of the register from its benefit codes {sorted(codes)[:5]}")
    return prefixes.pop()


def _as_days(value) -> int:
    if isinstance(value, dt.date):
        return (value - dt.date(1970, 1, 1)).days
    if isinstance(value, str):
        return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
    return int(value)


def advance_register(src_dir, out_dir, seed: int, to_period: str | None = None, deaths=(), closed_accounts=(),
                     *, period: str | None = None) -> dict:
    """Write the register of `to_period` (default: the month after the source's) from the one in src_dir.

    New decisions (new rights, ~1.2 %), terminations (~0.8 %: a last version ending in one of the last three
    months), retroactive changes (~3 %: a version from 1-12 months back with a new income, grade or MO status),
    renewals of fixed-term awards that ended last month, the `deaths` given as (person_id, date) plus a few
    random ones (persons.death_date and the end of their household membership), and the payees in
    `closed_accounts` switched to the post: their payee row keeps its payee_id (rights still point to it),
    gets channel "post", loses IBAN and BIC, and gets a postal address where it had none. `period` is an alias
    of `to_period`. Deterministic for the same source and arguments.
    """
    src, out = Path(src_dir), Path(out_dir)
    tables = _read_tables(src)
    country = register_country(src) or _country_of(tables)
    source_index, target_index = _advance_months(tables["rights"], to_period or period)
    payees, institution_ids, enforcer_ids = _shared_of(seed, COUNTRIES[country], tables["payees"])
    ctx = make_context(country, target_index, institution_ids, enforcer_ids)
    rng = _rng(seed, 0xAD, _country_key(country), target_index)
    tables["persons"], tables["households"], stats = _record_deaths(rng, ctx, tables, deaths)
    tables["rights"], changes = _new_versions(rng, ctx, tables["rights"])
    tables["payees"], switched = _switch_to_post(rng, ctx, payees, closed_accounts)
    new_count = max(1, int(round(NEW_RIGHT_SHARE * len(pc.unique(tables["rights"]["right_id"])))))
    ids = NextIds(*(int(pc.max(tables[name][column]).as_py() or 0) + 1 for name, column in (
        ("persons", "person_id"), ("households", "household_id"), ("rights", "right_id"),
        ("payees", "payee_id"), ("deductions", "order_id"))))
    fresh = generate_chunk((seed, 0xAD, _country_key(country), target_index, 1), ctx, new_count, ids,
                           new_decisions=True)
    rights = _write_advanced(out, tables, fresh)
    write_register_meta(out, country, ctx.catalogue.currency, _period_text(target_index), seed=int(seed),
                        advanced_from=_period_text(source_index))
    first = rights.filter(pc.equal(rights["version"], 1))
    by_benefit = first.group_by("benefit").aggregate([("right_id", "count")])
    return {
        "out_dir": str(out), "advanced_from": str(src), "country": country, "seed": seed,
        "from_period": _period_text(source_index), "period": _period_text(target_index),
        "rights": first.num_rows, "right_versions": rights.num_rows, "new_rights": new_count,
        **stats, **changes, "payees_switched_to_post": switched,
        "rights_by_benefit": dict(sorted(zip(by_benefit["benefit"].to_pylist(),
                                             by_benefit["right_id_count"].to_pylist()))),
        "files": [f"{name}.parquet" for name in TABLES],
    }


def _advance_months(rights: pa.Table, to_period: str | None) -> tuple[int, int]:
    """(month of the source's latest decision, month to advance to); the target must be later."""
    source = int(_months_of_days(_days(rights["decided_on"])).max())
    target = source + 1 if to_period is None else parse_period(to_period)
    if target <= source:
        raise InputError([problem("--period", None, "period", to_period,
                                  N_("the register already holds decisions of {value}", value=_period_text(source)),
                                  N_("advance it to a later month, e.g. {value}", value=_period_text(source + 1)))])
    return source, target


def _write_advanced(out: Path, tables: dict, fresh: dict) -> pa.Table:
    """Write the advanced tables (rights ordered by right and version); returns the rights' key columns."""
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = pa.concat_tables([tables[name], fresh[name]])
        if name == "rights":
            table = table.sort_by([("right_id", "ascending"), ("version", "ascending")])
        pq.write_table(table, out / f"{name}.parquet", row_group_size=CHUNK_RIGHTS * 4, **_parquet_options(name))
    return pq.read_table(out / "rights.parquet", columns=["right_id", "version", "benefit"])


def _shared_of(seed: int, data: CountryData, payees: pa.Table):
    """Institution and enforcement-officer payees of the register; added when a hand-made one lacks them."""
    names = payees["name"].to_numpy(zero_copy_only=False)
    kinds = payees["kind"].to_numpy(zero_copy_only=False)
    payee_ids = payees["payee_id"].to_numpy()
    institutions = payee_ids[kinds == "institution"]
    enforcers = payee_ids[(kinds == "creditor") & np.isin(names, list(data.enforcers))]
    if len(institutions) and len(enforcers):
        return payees, institutions, enforcers
    first_id = int(pc.max(payees["payee_id"]).as_py() or 0) + 1
    shared, institutions, enforcers = shared_payees(seed, data, first_id)
    return pa.concat_tables([payees, shared]), institutions, enforcers


def _period_text(index: int) -> str:
    return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"


def _record_deaths(rng, ctx: Context, tables: dict, deaths):
    """persons.death_date for the deaths given and a few random ones in the month; memberships end then."""
    persons, households = tables["persons"], tables["households"]
    death = _days(persons["death_date"])
    given_ids = np.array([int(person_id) for person_id, _ in deaths], dtype=np.int64)
    given_days = np.array([_as_days(day) for _, day in deaths], dtype=np.int64)
    rows = _rows_of(given_ids, persons["person_id"])
    if (rows < 0).any():
        raise InputError([problem("deaths", None, "person_id", person_id, N_("death reported for a person not in "
                                                                             "the register"),
                                  N_("report deaths of registered persons only"))
                          for person_id in given_ids[rows < 0][:20]])
    death[rows] = given_days
    age = (ctx.end_days - _days(persons["birth_date"])) // 365.25
    category = np.where(age < 18, CHILD, np.where(age >= 65, ELDERLY, ADULT))
    rate = np.choose(category, [MONTHLY_DEATH_RATE[ADULT], MONTHLY_DEATH_RATE[ELDERLY], MONTHLY_DEATH_RATE[CHILD]])
    random_dead = (death < 0) & (rng.random(len(death)) < rate)
    death[random_dead] = rng.integers(ctx.start_days, ctx.end_days + 1, int(random_dead.sum()))
    persons = _with(persons, REGISTER["persons"], {"death_date": _date_array(death, death >= 0)})
    member_row = _rows_of(households["person_id"].to_numpy(), persons["person_id"])
    member_death = np.where(member_row >= 0, death[member_row], -1)
    member_to = _days(households["member_to"])
    member_from = _days(households["member_from"])
    ends = (member_death >= 0) & ((member_to < 0) | (member_to > member_death)) & (member_death >= member_from)
    member_to = np.where(ends, member_death, member_to)
    households = _with(households, REGISTER["households"], {"member_to": _date_array(member_to, member_to >= 0)})
    return persons, households, {"deaths_recorded": len(given_ids), "deaths_random": int(random_dead.sum())}


def _rows_of(ids: np.ndarray, id_column) -> np.ndarray:
    """Row of each id in `id_column` (-1 where absent)."""
    found = pc.index_in(pa.array(np.asarray(ids, dtype=np.int64)), value_set=id_column)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _new_versions(rng, ctx: Context, rights: pa.Table):
    """Terminations, retroactive changes and renewals as new versions; earlier versions end the day before."""
    rights = rights.sort_by([("right_id", "ascending"), ("version", "ascending")])
    valid_from, valid_to = _days(rights["valid_from"]), _days(rights["valid_to"])
    start_month = _months_of_days(valid_from)
    role = _roles_of(ctx, rights["benefit"])
    first_month = np.array([ctx.first_month.get(r, 0) for r in ROLES] + [0])[role]
    ends, changes, renewals = _pick_advances(rng, ctx, rights, role, start_month, first_month, valid_to)
    # terminations: the last version is split at the first day of the month the right ends in
    end_month = ctx.period - _choice(rng, len(ends), [0.5, 0.3, 0.2])
    end_from, end_to = _month_start_days(end_month), _month_end_days(end_month)
    end_to = np.where(valid_to[ends] >= 0, np.minimum(end_to, valid_to[ends]), end_to)
    # retroactive changes: a new version from 1-12 months back, the old one ends the day before
    span = np.minimum(12, ctx.period - np.maximum(first_month[changes], start_month[changes] + 1))
    change_from = _month_start_days(ctx.period - 1 - (rng.random(len(changes)) * span).astype(np.int64))
    # renewals: a fresh fixed-term award from this month
    award = np.array([ctx.award_months.get(r, 0) for r in ROLES] + [0])[role[renewals]]
    new_rows = np.concatenate([ends, changes, renewals])
    new = rights.take(pa.array(new_rows))
    new_valid_from = np.concatenate([end_from, change_from, _month_start_days(np.full(len(renewals), ctx.period))])
    new_valid_to = np.concatenate([end_to, valid_to[changes], _month_end_days(ctx.period + award - 1)])
    old_valid_to = valid_to.copy()
    old_valid_to[ends], old_valid_to[changes] = end_from - 1, change_from - 1
    income, grade, mo_family = _advanced_facts(rng, ctx, new, len(ends), len(changes), role[new_rows])
    decided = ctx.start_days + rng.integers(0, ctx.end_days - ctx.start_days + 1, len(new_rows))
    new = _with(new, REGISTER["rights"], {
        "version": _int_array(_days(new["version"]) + 1, pa.int32()),
        "valid_from": _date_array(new_valid_from), "valid_to": _date_array(new_valid_to, new_valid_to >= 0),
        "decided_on": _date_array(decided), "income_minor": income, "grade": grade, "mo_family": mo_family,
        # RULES.md Readings 5 and 11: applied for 0-30 days before the decision; a tenth correct the agency's fault
        "applied_on": _date_array(decided - rng.integers(0, 31, len(new_rows))),
        "agency_fault": pa.array(rng.random(len(new_rows)) < 0.1),
    })
    rights = _with(rights, REGISTER["rights"], {"valid_to": _date_array(old_valid_to, old_valid_to >= 0)})
    stats = {"terminated": len(ends), "retroactive_changes": len(changes), "renewed": len(renewals)}
    return pa.concat_tables([rights, new]), stats


def _roles_of(ctx: Context, benefit) -> np.ndarray:
    """Role index per row (len(ROLES) for a code the generator has no role for)."""
    codes = pa.array([ctx.codes.get(role, "") for role in ROLES], pa.string())
    return pc.fill_null(pc.index_in(benefit, value_set=codes), len(ROLES)).to_numpy(zero_copy_only=False)


def _pick_advances(rng, ctx: Context, rights, role, start_month, first_month, valid_to):
    """Latest versions to terminate, to change retroactively and (fixed-term awards) to renew."""
    right_id = rights["right_id"].to_numpy()
    latest = np.flatnonzero(np.r_[right_id[1:] != right_id[:-1], True]) if len(right_id) else np.zeros(0, int)
    event = np.isin(role, [ROLES.index(r) for r in EVENT_ROLES])
    running = (valid_to < 0) | (valid_to >= ctx.start_days)
    pool = rng.permutation(latest[running[latest] & ~event[latest] & (start_month[latest] <= ctx.period - 3)])
    ends = pool[:int(round(TERMINATION_SHARE * len(latest)))]
    changeable = pool[len(ends):]
    has_fact = ((_days(rights["income_minor"]) >= 0) | (_days(rights["grade"]) > 0)
                | (role == ROLES.index("per_child")))
    changeable = changeable[has_fact[changeable]
                            & (np.maximum(first_month[changeable], start_month[changeable] + 1) <= ctx.period - 1)]
    changes = changeable[:int(round(RETRO_CHANGE_SHARE * len(latest)))]
    award_roles = [ROLES.index(r) for r in ctx.award_months]
    ended_last_month = latest[(valid_to[latest] == int(_month_end_days(ctx.period - 1)))
                              & np.isin(role[latest], award_roles)]
    renewals = ended_last_month[rng.random(len(ended_last_month)) < RENEWAL_SHARE]
    return np.sort(ends), np.sort(changes), np.sort(renewals)


def _advanced_facts(rng, ctx: Context, new: pa.Table, ends: int, changes: int, role: np.ndarray):
    """Facts of the new versions: terminations keep them; changes move income, grade or MO status;
    renewals re-assess the income."""
    n = new.num_rows
    income = _days(new["income_minor"])
    grade = _days(new["grade"])
    mo = pc.fill_null(new["mo_family"], False).to_numpy(zero_copy_only=False)
    changed = np.zeros(n, dtype=bool)
    changed[ends:] = True        # changes and renewals
    moved = (income * rng.uniform(0.4, 1.5, n)).astype(np.int64)
    income = np.where(changed & (income >= 0), np.where(rng.random(n) < 0.2, 0, moved), income)
    grades = np.array([_grade_count(ctx, r) for r in ROLES] + [0])[role]
    step = np.where(rng.random(n) < 0.5, -1, 1)
    grade = np.where(changed & (grade > 0), np.clip(grade + step, 1, np.maximum(grades, 1)), grade)
    toggle = changed & (role == ROLES.index("per_child"))
    toggle[ends + changes:] = False
    mo = mo ^ toggle
    return (_int_array(income, pa.int64(), income >= 0), _int_array(grade, pa.int16(), grade > 0),
            pc.if_else(pc.is_null(new["mo_family"]), pa.scalar(None, pa.bool_()), pa.array(mo)))


def _grade_count(ctx: Context, role: str) -> int:
    if role not in ctx.codes:
        return 0
    benefit = ctx.catalogue.benefit(ctx.codes[role])
    if "amount_by_grade" not in benefit.parameters:
        return 0
    return len(benefit.parameters["amount_by_grade"][-1][1])


def _switch_to_post(rng, ctx: Context, payees: pa.Table, closed_accounts) -> tuple[pa.Table, int]:
    """Payees whose account was reported closed: same payee row, channel post, no IBAN/BIC, an address."""
    closed = np.array(sorted({int(p) for p in closed_accounts}), dtype=np.int64)
    rows = _rows_of(closed, payees["payee_id"])
    if (rows < 0).any():
        raise InputError([problem("closed_accounts", None, "payee_id", payee_id, N_("closed account reported for a "
                                                                                    "payee not in the register"),
                                  N_("report closed accounts of registered payees only"))
                          for payee_id in closed[rows < 0][:20]])
    switch = np.zeros(payees.num_rows, dtype=bool)
    switch[rows] = True
    mask = pa.array(switch)
    fresh = _addresses(rng, ctx.country, _choice(rng, payees.num_rows, [p[4] for p in ctx.country.places]),
                       np.zeros(payees.num_rows, dtype=bool))
    no_address = pc.or_kleene(pc.is_null(payees["street"]),
                        pc.or_kleene(pc.is_null(payees["town"]), pc.is_null(payees["postcode"])))
    fill = pc.and_(mask, pc.fill_null(no_address, True))
    columns = {"channel": pc.if_else(mask, pa.scalar("post"), payees["channel"]),
               "iban": pc.if_else(mask, pa.scalar(None, pa.string()), payees["iban"]),
               "bic": pc.if_else(mask, pa.scalar(None, pa.string()), payees["bic"])}
    for name in ("street", "house_number", "postcode", "town", "district", "region"):
        columns[name] = pc.if_else(fill, fresh[name], payees[name])
    return _with(payees, REGISTER["payees"], columns), len(closed)
