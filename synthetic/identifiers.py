"""National identifiers and bank accounts of synthetic people: JMBG (ME, RS), RNOKPP (UA), and the one IBAN maker.

Every synthetic account, in the register and in the payment tables of the file tests, comes from
`bank_accounts`: a bank drawn from the country's bank list (synthetic/names.py) by market share, an IBAN with
correct national and IBAN check digits for that bank's code, and that bank's BIC from the same list, so the
BIC a payee carries is always the BIC of the bank its IBAN names (the list agrees with schwifty's bank registry
wherever the registry knows the bank; Ukrainian banks carry none, domestic hryvnia transfers identify the bank
by the MFO inside the IBAN).
"""
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthetic.arrays import digit_strings, weighted_choice
from synthetic.names import CountryData


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
    return digit_strings(head + serial * 10 + np.where(check >= 10, 0, check), 13)


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
    return digit_strings(number9 * 10 + check, 10)


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
    parts = [pa.array(np.full(len(account), country.iso)), digit_strings(check, 2), digit_strings(codes, bank_width),
             digit_strings(account, account_width)]
    if national_width:
        parts.append(digit_strings(national, national_width))
    return pc.binary_join_element_wise(*parts, "")


def bank_accounts(rng, country: CountryData, n: int):
    """(iban, bic) arrays for n new accounts, banks drawn by market share."""
    bank_index = weighted_choice(rng, n, [weight for _, _, weight in country.banks])
    if country.iso == "UA":   # individual card accounts: balance account 2620 + 10 digits
        account = 2620 * 10**10 + rng.integers(0, 10**10, n)
    else:
        account = rng.integers(10**6, 10**10, n)
    bic = pa.array([bic for _, bic, _ in country.banks], pa.string()).take(pa.array(bank_index))
    return ibans(country, bank_index, account), bic
