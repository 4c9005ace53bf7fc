"""What a person reads in place of a code: ISO reason codes with their meaning, payroll components, deduction
kinds, channels and ledger accounts by name, benefits by their catalogue names, and amounts in the currency.

One table per kind of code and one function per kind of text; the names are English msgids (formats.i18n.N_),
shown in the active language. Amounts stay int64 minor units until `money_label` turns one into text for display
(Babel's number patterns of the officer's locale, with exactly the currency's decimals of the catalogue: never a
float).
"""
import copy
from decimal import Decimal
from functools import lru_cache

from formats import i18n
from formats.i18n import N_, tr

# ISO 20022 ExternalStatusReason1Code / ExternalReturnReason1Code (the codes banks and the post send back in
# pain.002, camt.054 and pacs.004), plus the German banks' Verification-of-Payee codes seen in pain.002 (RV..).
REASONS = {
    "AC01": N_("incorrect account number (invalid or missing)"),
    "AC02": N_("invalid debtor account number"),
    "AC03": N_("invalid creditor account number"),
    "AC04": N_("account closed"),
    "AC06": N_("account blocked"),
    "AC07": N_("creditor account closed"),
    "AC13": N_("invalid debtor account type"),
    "AG01": N_("transaction forbidden on this type of account"),
    "AG02": N_("invalid bank operation code"),
    "AM01": N_("zero amount"),
    "AM02": N_("amount not allowed"),
    "AM03": N_("currency not allowed"),
    "AM04": N_("insufficient funds"),
    "AM05": N_("duplicate payment"),
    "AM09": N_("wrong amount"),
    "BE01": N_("recipient's name inconsistent with the account holder"),
    "BE04": N_("creditor address missing or incorrect"),
    "BE05": N_("initiating party not recognised"),
    "CNOR": N_("creditor bank not registered"),
    "CUST": N_("requested by the customer"),
    "DNOR": N_("debtor bank not registered"),
    "DT01": N_("invalid date"),
    "DUPL": N_("duplicate payment"),
    "ED05": N_("settlement failed"),
    "FF01": N_("invalid file format"),
    "FOCR": N_("return following a cancellation request"),
    "MD01": N_("no mandate"),
    "MD06": N_("refund requested by the end customer"),
    "MD07": N_("recipient deceased"),
    "MS02": N_("reason not specified (customer)"),
    "MS03": N_("reason not specified (bank)"),
    "NARR": N_("reason given as text"),
    "NOAS": N_("no answer from the customer"),
    "NOOR": N_("original transaction not received"),
    "RC01": N_("bank identifier (BIC) incorrect"),
    "RR01": N_("debtor account or identification missing"),
    "RR02": N_("debtor name or address missing"),
    "RR03": N_("creditor name or address missing"),
    "RR04": N_("regulatory reason"),
    "RVMC": N_("recipient verification: close match of the name"),
    "RVNA": N_("recipient verification not possible"),
    "RVNM": N_("recipient verification: name does not match the account"),
    "SL01": N_("service offered by the debtor's bank"),
    "TM01": N_("received after the cut-off time"),
    "RELEASED": N_("hold released"),
}

COMPONENTS = {
    "due": N_("due this month"), "arrears": N_("arrears of earlier months"),
    "recovery": N_("recovery of an overpayment"),
    "alimony": N_("alimony"), "damages": N_("damages"), "enforcement": N_("enforcement order"),
    "forwarded": N_("forwarded to a creditor"), "carry_in": N_("brought in (under the minimum earlier)"),
    "carry_out": N_("carried forward (under the minimum)"), "reissue": N_("re-issued payment"),
    "overpayment": N_("overpayment raised"), "dropped": N_("dropped (under the minimum)"),
    "time_barred": N_("time-barred months"), "payment": N_("payment sent"), "settlement": N_("settlement"),
    "return": N_("returned payment"), "reject": N_("rejected payment"), "reversal": N_("reversal"),
    "opening": N_("opening balance"),
    "written_off": N_("overpayment written off"),
    "advance": N_("maintenance advance claimed from the debtor"),
    "advance_recovery": N_("maintenance advance recovered from the debtor"),
    "charges": N_("bank charges on a returned payment"),
}

DEDUCTION_KINDS = {"alimony": N_("alimony"), "damages": N_("damages"), "overpayment": N_("recovery of an overpayment"),
                   "recovery": N_("recovery of an overpayment"), "enforcement": N_("enforcement order"),
                   "advance_recovery": N_("maintenance advance recovered from the debtor")}

CHANNELS = {"bank": N_("bank transfer"), "post": N_("postal delivery")}

ACCOUNTS = {
    "treasury_cash": N_("treasury cash"), "in_transit_bank": N_("payments in transit (bank)"),
    "in_transit_post": N_("payments in transit (post)"), "benefits_payable": N_("benefits payable"),
    "deductions_payable": N_("deductions payable to third parties"),
    "overpayments_receivable": N_("overpayments receivable"),
    "returned_awaiting_reissue": N_("returned, awaiting re-issue"),
    "overpayments_written_off": N_("overpayments written off"), "benefit_expense": N_("benefit expense"),
    "advances_receivable": N_("maintenance advances receivable from debtors"),
    "advances_recoverable": N_("maintenance advances recoverable (fund)"),
    "bank_charges": N_("bank charges on returned payments"),
}

HOLD_KINDS = {"right": N_("right stopped"), "bank_channel": N_("bank account closed or invalid"),
              "payee": N_("every payment to the payee stopped")}

STATUSES = {"draft": N_("draft"), "superseded": N_("superseded"), "approved": N_("approved"),
            "exported": N_("exported"), "reconciled": N_("reconciled"), "cancelled": N_("cancelled")}

# the rows of a report's "arrears and recoveries" (payroll.report keys them by these English names)
ARREARS_ROWS = {"arrears paid": N_("arrears paid"), "overpayments raised": N_("overpayments raised"),
                "recovered": N_("recovered"), "re-issued": N_("re-issued"), "carried forward": N_("carried forward")}

# the officer's locale: the language asked for (--lang, ISPLATA_LANG), else the catalogue country's (formats.i18n)
COUNTRY_LOCALES = {country: i18n.BABEL_LOCALES[lang] for country, lang in i18n.COUNTRY_LANGUAGES.items()}
FALLBACK_LOCALE = "en"


def reason_text(code: str | None) -> str:
    """'MD07 — recipient deceased' as data (English; formats.i18n.tr shows it in the active language); an unknown
    code is shown as it is, said to be unknown."""
    if not code:
        return N_("no reason given")
    meaning = REASONS.get(code.strip().upper())
    if meaning:
        return N_("{code} — {meaning}", code=code, meaning=meaning)
    return N_("{code} — code not in the ISO list", code=code)


def reason_label(code: str | None) -> str:
    """The reason in the active language."""
    return tr(reason_text(code))


def component_label(name: str) -> str:
    return tr(COMPONENTS.get(name, name))


def deduction_label(kind: str) -> str:
    return tr(DEDUCTION_KINDS.get(kind, kind))


def channel_label(channel: str) -> str:
    return tr(CHANNELS.get(channel, channel))


def account_label(name: str) -> str:
    return tr(ACCOUNTS.get(name, name))


def hold_label(kind: str) -> str:
    return tr(HOLD_KINDS.get(kind, kind))


def status_label(status: str) -> str:
    return tr(STATUSES.get(status, status))


def arrears_label(row: str) -> str:
    return tr(ARREARS_ROWS.get(row, row))


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
    """The Babel locale of the country's language ('sr_Latn_ME' for ME; 'en' for none): recorded in data."""
    return COUNTRY_LOCALES.get((country or "").lower(), FALLBACK_LOCALE)


def display_locale(country: str | None = None) -> str:
    """Babel's locale for what a person reads now: the language asked for (--lang, ISPLATA_LANG), else the
    country's, else English."""
    return i18n.babel_locale(country)


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


class MoneyText(i18n.Message):
    """An amount kept as its English text (what JSON and logs carry, e.g. '1744132.19 UAH') that `tr` writes as the
    active locale does ('1 744 132,19 грн'), for amounts inside a translatable message."""

    def __new__(cls, text: str, amount_minor: int, exponent: int, currency: str | None):
        message = str.__new__(cls, text)
        message.msgid, message.values = text, {}
        message.amount = (int(amount_minor), int(exponent), currency)
        return message

    def __getnewargs__(self):
        return (str(self), *self.amount)

    def translated(self) -> str:
        amount_minor, exponent, currency = self.amount
        return money_label(amount_minor, exponent, currency, display_locale())
