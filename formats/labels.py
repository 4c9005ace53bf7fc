"""What a person reads in place of a code: ISO reason codes with their meaning, payroll components, deduction
kinds, channels and ledger accounts by name, benefits by their catalogue names, and amounts in the currency.

One table per kind of code and one function per kind of text, so every message can be wrapped for translation in
one place later. Amounts stay int64 minor units until `money_label` turns one into text for display (Babel's
number patterns of the officer's locale, with exactly the currency's decimals of the catalogue: never a float).
"""
import copy
from decimal import Decimal
from functools import lru_cache

# ISO 20022 ExternalStatusReason1Code / ExternalReturnReason1Code (the codes banks and the post send back in
# pain.002, camt.054 and pacs.004), plus the German banks' Verification-of-Payee codes seen in pain.002 (RV..).
REASONS = {
    "AC01": "incorrect account number (invalid or missing)",
    "AC02": "invalid debtor account number",
    "AC03": "invalid creditor account number",
    "AC04": "account closed",
    "AC06": "account blocked",
    "AC07": "creditor account closed",
    "AC13": "invalid debtor account type",
    "AG01": "transaction forbidden on this type of account",
    "AG02": "invalid bank operation code",
    "AM01": "zero amount",
    "AM02": "amount not allowed",
    "AM03": "currency not allowed",
    "AM04": "insufficient funds",
    "AM05": "duplicate payment",
    "AM09": "wrong amount",
    "BE01": "recipient's name inconsistent with the account holder",
    "BE04": "creditor address missing or incorrect",
    "BE05": "initiating party not recognised",
    "CNOR": "creditor bank not registered",
    "CUST": "requested by the customer",
    "DNOR": "debtor bank not registered",
    "DT01": "invalid date",
    "DUPL": "duplicate payment",
    "ED05": "settlement failed",
    "FF01": "invalid file format",
    "FOCR": "return following a cancellation request",
    "MD01": "no mandate",
    "MD06": "refund requested by the end customer",
    "MD07": "recipient deceased",
    "MS02": "reason not specified (customer)",
    "MS03": "reason not specified (bank)",
    "NARR": "reason given as text",
    "NOAS": "no answer from the customer",
    "NOOR": "original transaction not received",
    "RC01": "bank identifier (BIC) incorrect",
    "RR01": "debtor account or identification missing",
    "RR02": "debtor name or address missing",
    "RR03": "creditor name or address missing",
    "RR04": "regulatory reason",
    "RVMC": "recipient verification: close match of the name",
    "RVNA": "recipient verification not possible",
    "RVNM": "recipient verification: name does not match the account",
    "SL01": "service offered by the debtor's bank",
    "TM01": "received after the cut-off time",
    "RELEASED": "hold released",
}

COMPONENTS = {
    "due": "due this month", "arrears": "arrears of earlier months", "recovery": "recovery of an overpayment",
    "alimony": "alimony", "damages": "damages", "enforcement": "enforcement order",
    "forwarded": "forwarded to a creditor", "carry_in": "brought in (under the minimum earlier)",
    "carry_out": "carried forward (under the minimum)", "reissue": "re-issued payment",
    "overpayment": "overpayment raised", "dropped": "dropped (under the minimum)",
    "time_barred": "time-barred months", "payment": "payment sent", "settlement": "settlement",
    "return": "returned payment", "reject": "rejected payment", "reversal": "reversal", "opening": "opening balance",
    "advance": "maintenance advance claimed from the debtor",
    "advance_recovery": "maintenance advance recovered from the debtor",
}

DEDUCTION_KINDS = {"alimony": "alimony", "damages": "damages", "overpayment": "recovery of an overpayment",
                   "recovery": "recovery of an overpayment", "enforcement": "enforcement order",
                   "advance_recovery": "maintenance advance recovered from the debtor"}

CHANNELS = {"bank": "bank transfer", "post": "postal delivery"}

ACCOUNTS = {
    "treasury_cash": "treasury cash", "in_transit_bank": "payments in transit (bank)",
    "in_transit_post": "payments in transit (post)", "benefits_payable": "benefits payable",
    "deductions_payable": "deductions payable to third parties", "overpayments_receivable": "overpayments receivable",
    "returned_awaiting_reissue": "returned, awaiting re-issue", "benefit_expense": "benefit expense",
    "advances_receivable": "maintenance advances receivable from debtors",
    "advances_recoverable": "maintenance advances recoverable (fund)",
}

HOLD_KINDS = {"right": "right stopped", "bank_channel": "bank account closed or invalid",
              "payee": "every payment to the payee stopped"}

# the officer's locale when none is asked for: the catalogue country's language
COUNTRY_LOCALES = {"me": "sr_Latn_ME", "rs": "sr_Cyrl_RS", "ua": "uk_UA"}
FALLBACK_LOCALE = "en"


def reason_label(code: str | None) -> str:
    """'MD07 — recipient deceased'; an unknown code is shown as it is, said to be unknown."""
    if not code:
        return "no reason given"
    meaning = REASONS.get(code.strip().upper())
    return f"{code} — {meaning}" if meaning else f"{code} — code not in the ISO list"


def component_label(name: str) -> str:
    return COMPONENTS.get(name, name)


def deduction_label(kind: str) -> str:
    return DEDUCTION_KINDS.get(kind, kind)


def channel_label(channel: str) -> str:
    return CHANNELS.get(channel, channel)


def account_label(name: str) -> str:
    return ACCOUNTS.get(name, name)


def hold_label(kind: str) -> str:
    return HOLD_KINDS.get(kind, kind)


def benefit_label(code: str, names: dict[str, str]) -> str:
    """A benefit by its catalogue name with its code: 'Dodatak za djecu (ME_DD)'."""
    name = names.get(code)
    return f"{name} ({code})" if name and name != code else code


def benefit_names(catalogue) -> dict[str, str]:
    """{benefit code: name} of a formats.catalogue.Catalogue."""
    return {benefit.code: benefit.name for benefit in catalogue.benefits}


def benefit_names_at(path) -> dict[str, str]:
    """The benefit names of the catalogue file at `path`; {} (codes shown alone) when the file is gone or no
    longer reads: a missing name never stops a report or a table."""
    from pathlib import Path

    from formats.catalogue import load_catalogue
    from formats.errors import InputError

    if not Path(path).is_file():
        return {}
    try:
        return benefit_names(load_catalogue(path))
    except InputError:
        return {}


def locale_of(country: str | None) -> str:
    return COUNTRY_LOCALES.get((country or "").lower(), FALLBACK_LOCALE)


@lru_cache(maxsize=64)
def _pattern(locale: str, exponent: int, with_currency: bool):
    from babel import Locale

    parsed = Locale.parse(locale)
    pattern = copy.copy(parsed.currency_formats["standard"] if with_currency else parsed.decimal_formats[None])
    pattern.frac_prec = (exponent, exponent)
    return parsed, pattern


def money_label(amount_minor: int, exponent: int, currency: str | None = None, locale: str = FALLBACK_LOCALE) -> str:
    """An amount of minor units as the locale writes it: '1.998.117,38 €', '1 998 117,38 ₴', '1.998.117 RSD'.
    Exactly `exponent` decimals (the catalogue's, not Babel's idea of the currency); without a currency, the
    number alone ('1.998.117,38')."""
    parsed, pattern = _pattern(locale, int(exponent), currency is not None)
    value = Decimal(int(amount_minor)).scaleb(-int(exponent))
    if currency is None:
        return pattern.apply(value, parsed)
    return pattern.apply(value, parsed, currency=currency, currency_digits=False)
