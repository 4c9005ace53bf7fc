"""The synthetic workloads that both sides of every comparison receive: households for the three means-tested
rules, bank payments for pain.001, balanced postings for the ledger. Each is generated once from a seed, as
numpy arrays, before any timing starts, and handed unchanged to isplata and to the peer, so differences in
the results can only come from the tools. The household distribution is the one of
shared/peers/bench_openfisca.py (the script behind the peer figures quoted in the issues)."""
import dataclasses
import datetime as dt

import numpy as np

from engine.months import date_to_days

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

EXPENSE_ACCOUNT = 5100   # benefit expense
PAYABLE_ACCOUNT = 2100   # benefits payable to the payee


@dataclasses.dataclass(frozen=True)
class Postings:
    """Balanced postings: each amount is debited to expense and credited to payable for the same right."""
    account_id: np.ndarray    # int32 [posting]
    right_id: np.ndarray      # int64 [posting]
    payee_id: np.ndarray      # int64 [posting]
    month: np.ndarray         # int32 [posting] month index (months since 1970-01)
    amount_minor: np.ndarray  # int64 [posting], signed: debit > 0, credit < 0

    @property
    def count(self) -> int:
        return int(self.amount_minor.shape[0])


def make_postings(count: int, first_month: int, seed: int = 11) -> Postings:
    assert count % 2 == 0, "postings come in debit/credit pairs"
    rng = np.random.default_rng(seed)
    pairs = count // 2
    right = rng.integers(1, 5_000_001, pairs, dtype=np.int64)
    amount = rng.integers(100, 300_000, pairs, dtype=np.int64)
    month = (first_month + np.arange(pairs) % 12).astype(np.int32)
    return Postings(
        account_id=np.tile(np.array([EXPENSE_ACCOUNT, PAYABLE_ACCOUNT], np.int32), pairs),
        right_id=np.repeat(right, 2), payee_id=np.repeat(right + 10_000_000, 2),
        month=np.repeat(month, 2), amount_minor=np.stack([amount, -amount], axis=1).reshape(-1),
    )
