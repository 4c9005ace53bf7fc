"""The synthetic workloads that both sides of every comparison receive: households for the three means-tested
rules, bank payments for pain.001, balanced postings for the ledger. Each is generated once from a seed, as
numpy arrays, before any timing starts, and handed unchanged to isplata and to the peer, so differences in
the results can only come from the tools. The household distribution is the one of
shared/peers/bench_openfisca.py (the script behind the peer figures quoted in the issues)."""
import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa

from engine.months import date_to_days
from formats import schemas

EUR_TO_RSD = 117.2  # only to give each country's incomes a plausible size; not a conversion anyone relies on
EUR_TO_UAH = 48.0
REFERENCE_DAY = dt.date(2025, 6, 15)  # ages are drawn relative to this day, as the peer script does


@dataclasses.dataclass(frozen=True)
class Households:
    """Households with their members; incomes in each catalogue's minor unit (EUR cent, whole RSD, UAH kopeck)."""
    size: np.ndarray               # int64 [household] members
    person_household: np.ndarray   # int64 [person] household index, persons grouped by household
    person_position: np.ndarray    # int64 [person] 0 for the head, then 1, 2, ...
    birth_days: np.ndarray         # int64 [person] days since 1970-01-01
    disabled: np.ndarray           # bool [person] lost working capacity
    unable_to_work: np.ndarray     # bool [household] no member can work (Serbian +20 %)
    income_eur_minor: np.ndarray   # int64 [household]
    income_rsd_minor: np.ndarray
    income_uah_minor: np.ndarray

    @property
    def households(self) -> int:
        return int(self.size.shape[0])

    @property
    def persons(self) -> int:
        return int(self.person_household.shape[0])


def make_households(households: int, seed: int = 42) -> Households:
    rng = np.random.default_rng(seed)
    size = rng.choice([1, 2, 3, 4, 5, 6, 7], p=[.25, .22, .18, .17, .10, .05, .03], size=households)
    persons = int(size.sum())
    person_household = np.repeat(np.arange(households), size)
    position = np.arange(persons) - np.repeat(np.cumsum(size) - size, size)
    # the head is an adult 20-80; other members are children 0-17 or adults 18-85 with equal odds
    age_years = np.where(position == 0, rng.integers(20, 81, persons),
                         np.where(rng.random(persons) < .5, rng.integers(0, 18, persons),
                                  rng.integers(18, 86, persons)))
    age_days = (age_years * 365.25 + rng.integers(0, 365, persons)).astype(np.int64)
    birth_days = date_to_days(REFERENCE_DAY) - age_days
    disabled = (age_years >= 18) & (rng.random(persons) < .1)
    income_eur = np.where(rng.random(households) < .4, 0.0, rng.gamma(2.0, 60.0, households))
    income_eur_minor = np.round(income_eur * 100).astype(np.int64)
    unable = rng.random(households) < .3
    return Households(
        size=size.astype(np.int64), person_household=person_household.astype(np.int64),
        person_position=position.astype(np.int64), birth_days=birth_days.astype(np.int64),
        disabled=disabled, unable_to_work=unable, income_eur_minor=income_eur_minor,
        income_rsd_minor=np.round(income_eur_minor * EUR_TO_RSD / 100).astype(np.int64),
        income_uah_minor=np.round(income_eur_minor * EUR_TO_UAH).astype(np.int64),
    )


RIGHTS_FROM = dt.date(2025, 1, 1)
RIGHTS_DECIDED = dt.date(2024, 12, 20)


def register_tables(households: Households, benefit: str, income_minor: np.ndarray,
                    award_months: int = 0) -> dict[str, pa.Table]:
    """The households as a register snapshot (formats/schemas.py): one open-ended right of `benefit` per
    household from 2025-01-01, the head as beneficiary and payee, the household's income on the right. A benefit
    of fixed-term awards (UA_DSD: 6 months) gets a version per award instead, each renewing the last through
    2025 (formats/awards.py ends a version after its award's months)."""
    persons_count, count = households.persons, households.households
    person_id = np.arange(1, persons_count + 1, dtype=np.int64)
    birth = pa.array(households.birth_days.astype(np.int32), pa.int32()).cast(pa.date32())
    age_days = date_to_days(REFERENCE_DAY) - households.birth_days
    role = np.where(households.person_position == 0, "head", np.where(age_days < 18 * 365, "child", "adult"))
    head_person = np.flatnonzero(households.person_position == 0).astype(np.int64) + 1
    household_id = np.arange(1, count + 1, dtype=np.int64)
    persons = {"person_id": person_id, "birth_date": birth, "death_date": pa.nulls(persons_count, pa.date32()),
               "family_name": pa.array(["Petrović"] * persons_count), "given_name": pa.array(["Ana"] * persons_count),
               "municipality": pa.array(["Podgorica"] * persons_count), "disabled": households.disabled,
               "without_parental_care": np.zeros(persons_count, bool)}
    members = {"household_id": households.person_household + 1, "person_id": person_id, "role": role,
               "member_from": birth}
    rights = {"right_id": household_id, "version": np.ones(count, np.int32), "benefit": pa.array([benefit] * count),
              "person_id": head_person, "household_id": household_id, "payee_id": household_id,
              "valid_from": pa.array([RIGHTS_FROM] * count, pa.date32()),
              "decided_on": pa.array([RIGHTS_DECIDED] * count, pa.date32()), "income_minor": income_minor,
              "unable_to_work": households.unable_to_work}
    if award_months:
        rights = renewed(rights, award_months)
    payees = {"payee_id": household_id, "channel": pa.array(["post"] * count), "kind": pa.array(["person"] * count),
              "name": pa.array(["Ana Petrović"] * count), "country": pa.array(["ME"] * count)}
    return {"persons": _table(persons, schemas.PERSONS), "households": _table(members, schemas.HOUSEHOLDS),
            "rights": _table(rights, schemas.RIGHTS), "payees": _table(payees, schemas.PAYEES)}


def renewed(rights: dict, award_months: int, months: int = 12) -> dict:
    """Each right's one version as versions of award_months each from RIGHTS_FROM, covering `months` months: rows
    by right, then valid_from; each renewal decided ten days before it starts."""
    terms = -(-months // award_months)
    count = len(rights["right_id"])
    starts = [dt.date(RIGHTS_FROM.year + (RIGHTS_FROM.month - 1 + k * award_months) // 12,
                      (RIGHTS_FROM.month - 1 + k * award_months) % 12 + 1, 1) for k in range(terms)]
    ends = [start - dt.timedelta(days=1) for start in starts[1:]] + [None]
    row = np.repeat(np.arange(count), terms)
    term = np.tile(np.arange(terms), count)
    out = {name: (values.take(pa.array(row)) if isinstance(values, pa.Array) else np.asarray(values)[row])
           for name, values in rights.items()}
    out["version"] = (term + 1).astype(np.int32)
    out["valid_from"] = pa.array([starts[k] for k in term], pa.date32())
    out["valid_to"] = pa.array([ends[k] for k in term], pa.date32())
    out["decided_on"] = pa.array([RIGHTS_DECIDED if k == 0 else starts[k] - dt.timedelta(days=10) for k in term],
                                 pa.date32())
    return out


def _table(columns: dict, schema: pa.Schema) -> pa.Table:
    """A table of `schema` with the given columns; the others are null."""
    rows = len(next(iter(columns.values())))
    arrays = [pa.array(columns[f.name], f.type) if f.name in columns and not isinstance(columns[f.name], pa.Array)
              else columns.get(f.name, pa.nulls(rows, f.type)) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


# ---- payments -----------------------------------------------------------------------------------------------

FAMILY_NAMES = np.array(["Đurđević", "Šćepanović", "Vujović", "Ćorović", "Petrović", "Пејовић", "Žugić",
                         "Radulović", "Мартиновић", "Knežević", "Čolaković", "Dragićević"])
GIVEN_NAMES = np.array(["Milica", "Đorđe", "Ljiljana", "Nikola", "Šefko", "Јована", "Žarko", "Ана", "Vesna"])
CREDITOR_BANK_CODE = 37040044       # a real German bank code, so every generated IBAN is well formed
CREDITOR_BIC = "COBADEFFXXX"


@dataclasses.dataclass(frozen=True)
class Payments:
    """Credit transfers to bank accounts, all in one currency and one execution date."""
    end_to_end_id: np.ndarray   # str [payment], unique, <= 35 characters
    payee_id: np.ndarray        # int64 [payment]
    amount_minor: np.ndarray    # int64 [payment], > 0
    name: np.ndarray            # str [payment], with diacritics and Cyrillic to transliterate
    iban: np.ndarray            # str [payment]
    bic: str
    remittance: np.ndarray      # str [payment]
    currency: str = "EUR"
    execution_date: dt.date = dt.date(2025, 7, 15)
    debtor_name: str = "Ministarstvo rada i socijalnog staranja"
    debtor_iban: str = "ME25505000000000000168"
    debtor_bic: str = "CKBCMEPGXXX"
    msg_id: str = "ISPLATA-BENCH-2025-07"

    @property
    def count(self) -> int:
        return int(self.amount_minor.shape[0])


def german_ibans(accounts: np.ndarray) -> np.ndarray:
    """IBANs DEkk + bank code + 10-digit account, with the ISO 7064 mod-97 check digits computed per array."""
    assert accounts.dtype == np.int64 and accounts.min() >= 0 and accounts.max() < 10 ** 10
    # the number bank(8) account(10) "1314" "00" is too big for int64: reduce each part mod 97 first
    rest = (CREDITOR_BANK_CODE % 97) * pow(10, 16, 97) + (accounts % 97) * pow(10, 6, 97) + 131400 % 97
    check = 98 - rest % 97
    digits = np.char.zfill(accounts.astype(str), 10)
    return np.char.add(np.char.add(np.char.add("DE", np.char.zfill(check.astype(str), 2)),
                                   str(CREDITOR_BANK_CODE)), digits)


def make_payments(count: int, seed: int = 7) -> Payments:
    rng = np.random.default_rng(seed)
    index = np.arange(count, dtype=np.int64)
    sequence = np.char.zfill(index.astype(str), 8)
    names = np.char.add(np.char.add(FAMILY_NAMES[index % FAMILY_NAMES.size], " "),
                        GIVEN_NAMES[(index // FAMILY_NAMES.size) % GIVEN_NAMES.size])
    return Payments(
        end_to_end_id=np.char.add("ISP-202507-", sequence),
        payee_id=index + 1,
        amount_minor=rng.integers(5_000, 250_000, count, dtype=np.int64),
        name=names,
        iban=german_ibans(1_000_000_000 + index * 7),
        bic=CREDITOR_BIC,
        remittance=np.char.add("Socijalna davanja 2025-07 ", sequence),
    )


# ---- ledger postings ----------------------------------------------------------------------------------------

EXPENSE_ACCOUNT_KIND = 8   # benefit_expense, keyed by benefit code (ledgers/schema.py ACCOUNT_KINDS)
PAYABLE_ACCOUNT_KIND = 4   # benefits_payable, keyed by payee
BENEFIT_CODE = 1
DUE_COMPONENT = "due"


@dataclasses.dataclass(frozen=True)
class Postings:
    """Balanced postings of one approved payroll: each amount debited to benefit expense and credited to the
    payee's benefits payable, for the same right and month."""
    account_kind: np.ndarray  # int16 [posting]
    account_key: np.ndarray   # int64 [posting]
    right_id: np.ndarray      # int64 [posting]
    payee_id: np.ndarray      # int64 [posting]
    month: np.ndarray         # int32 [posting] month index (months since 1970-01)
    amount_minor: np.ndarray  # int64 [posting], signed: debit > 0, credit < 0
    period: int               # month index of the payroll

    @property
    def count(self) -> int:
        return int(self.amount_minor.shape[0])


def make_postings(count: int, period: int, seed: int = 11) -> Postings:
    assert count % 2 == 0, "postings come in debit/credit pairs"
    rng = np.random.default_rng(seed)
    pairs = count // 2
    right = rng.integers(1, 5_000_001, pairs, dtype=np.int64)
    payee = right + 10_000_000
    amount = rng.integers(100, 300_000, pairs, dtype=np.int64)
    month = (period - np.arange(pairs) % 12).astype(np.int32)  # this month and arrears of the 11 before
    return Postings(
        account_kind=np.tile(np.array([EXPENSE_ACCOUNT_KIND, PAYABLE_ACCOUNT_KIND], np.int16), pairs),
        account_key=np.stack([np.full(pairs, BENEFIT_CODE, np.int64), payee], axis=1).reshape(-1),
        right_id=np.repeat(right, 2), payee_id=np.repeat(payee, 2), month=np.repeat(month, 2),
        amount_minor=np.stack([amount, -amount], axis=1).reshape(-1), period=int(period),
    )
