"""The rule catalogue file (TOML): reading, validation with clear problems, and a typed view for the other parts.

A catalogue is data, never code: currency and rounding, the paying agency's payment settings, deduction caps,
and per benefit its formula kind, policies and every parameter as dated values (indexation is a new dated line).
`load_catalogue` refuses a bad file with every problem at once (`InputError`); the returned `Catalogue` is
immutable, carries the SHA-256 of the file bytes (the payroll records which rules it ran under) and compiles
into the engine's integer arrays with `Catalogue.compile(first_month, last_month)`.

Sources as data: `[sources]` maps a key to {ref, title}; every dated value carries `source` (a key) and `status`
(confirmed, reported, derived, assumption; derived and assumption also a `reason`). `[bases]` holds dated money
bases (Ukraine's subsistence minima); a parameter line `{valid_from, base, percent_bp, ...}` is derived from a base
and becomes one dated value per month the base changes. The provenance lives beside the values
(`Benefit.provenance`, `Catalogue.provenance(benefit, parameter, month)`); the compiled arrays do not see it.
A benefit with `unpriced = "reason"` (no amount in any public source) is listed but never in force.
"""
import datetime as dt
import hashlib
import importlib.resources
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine import catalogue as engine_catalogue
from engine.deductions import DeductionCaps
from formats.amounts import format_amount, parse_amount
from engine.months import month_first_date, month_index
from formats.errors import InputError, problem
from formats.i18n import N_

COUNTRY_FILES = {"me": "montenegro.toml", "rs": "serbia.toml", "ua": "ukraine.toml"}
DEFAULT_COUNTRY = "me"
CURRENCY_EXPONENTS = {"EUR": 2, "RSD": 0, "UAH": 2}
PARAM_AMOUNT_MINOR_MAX = 10**9  # keeps amount x scale (bp) x supplement (bp) inside int64 in the kernels
PARAM_BP_MAX = 100_000          # 1,000 %
PARAM_COUNT_MAX = 1_000
BELOW_MINIMUM_POLICIES = ("carry", "drop")

TOP_KEYS = {"format_version", "country", "name", "currency", "minor_exponent", "rounding_unit_minor",
            "rounding", "payment", "deductions", "defaults", "benefits", "arrears_limit_months", "sources", "bases"}
REQUIRED_TOP_KEYS = ("country", "currency", "minor_exponent", "rounding_unit_minor", "payment", "deductions",
                     "benefits")
PAYMENT_KEYS = {"execution_day", "agency_name", "debtor_iban", "debtor_bic", "postal_delivery_method",
                "postal_operator", "service_level", "charge_bearer", "category_purpose", "purpose", "scheme"}
# optional ISO 20022 scheme elements of the payment files: code sets (ExternalServiceLevel1Code, ChargeBearerType1Code,
# ExternalCategoryPurpose1Code, ExternalPurpose1Code are 4-letter codes) and the schemes whose rules are checked
CHARGE_BEARERS = ("DEBT", "CRED", "SHAR", "SLEV")
SCHEMES = ("EPC-SCT",)
DEDUCTION_TOP_KEYS = {"total_cap_bp", "total_cap_with_alimony_bp", "shared_cap_bp", "recovery_default_bp",
                      "recovery_with_consent_bp"}
DEDUCTION_KIND_KEYS = {"priority", "cap_bp", "cap_with_consent_bp", "forwarded", "agency_fault_exempt"}
DEDUCTION_KINDS = ("alimony", "damages", "overpayment", "enforcement")
POLICY_KEYS = {"proration", "minimum_payable", "below_minimum", "protected", "post_allowed", "stops_on_death"}
INT_SETTING_KEYS = {"age_min_years", "age_max_years", "child_age_limit_years", "young_child_age_limit_years",
                    "award_months", "claim_within_months", "lost_capacity_age_years", "multiple_bp"}
BOOL_SETTING_KEYS = {"protected", "post_allowed", "stops_on_death", "twins_excepted", "decided_amount",
                     "recovery_allowed"}
CODE_SETTING_KEYS = {"special_rate_benefit", "multiple_of_benefit"}  # name another benefit of the catalogue
TEXT_KEYS = {"name", "indexation", "payee", "legal_basis", "notes", "note", "unpriced"}
BENEFIT_KEYS = ({"code", "kind", "parameters"} | POLICY_KEYS | INT_SETTING_KEYS | BOOL_SETTING_KEYS | TEXT_KEYS
                | CODE_SETTING_KEYS)
# Provenance of every dated value (RULES.md "Beyond these tables"; research file's C / R / D; N is never a value)
STATUSES = ("confirmed", "reported", "derived", "assumption")
PROVENANCE_KEYS = {"source", "status", "reason", "note"}
VALUE_LINE_KEYS = {"valid_from", "value"} | PROVENANCE_KEYS
DERIVED_LINE_KEYS = {"valid_from", "base", "percent_bp"} | PROVENANCE_KEYS
SOURCE_KEYS = {"ref", "title"}


@dataclass(frozen=True)
class PaymentSettings:
    execution_day: int            # day of the month the payments are executed
    agency_name: str
    debtor_iban: str
    debtor_bic: str
    postal_delivery_method: str   # ISO 20022 DeliveryMethod code for postal cheques, e.g. MLCD
    postal_operator: str
    service_level: str | None = None     # PmtTpInf/SvcLvl/Cd of bank transfers, e.g. SEPA
    charge_bearer: str | None = None     # ChrgBr, e.g. SLEV (as the scheme's level says)
    category_purpose: str | None = None  # PmtTpInf/CtgyPurp/Cd, e.g. SSBE (social security benefit), GOVT, BENE
    purpose: str | None = None           # Purp/Cd of every transaction, e.g. SSBE, BENE, PENS
    scheme: str | None = None            # a payment scheme whose rules the files are checked against: EPC-SCT


@dataclass(frozen=True)
class DeductionRule:
    kind: str
    priority: int
    cap_bp: int
    forwarded: bool               # paid on to a creditor payee (else kept by the agency)
    cap_with_consent_bp: int | None = None
    agency_fault_exempt: bool = False


@dataclass(frozen=True)
class DeductionRules:
    """The catalogue's [deductions]: the caps the engine applies (engine.deductions.DeductionCaps, the one type of
    caps, built here from the catalogue) and each kind's rule (priority, forwarded, consent cap)."""
    caps: DeductionCaps
    kinds: dict                   # kind -> DeductionRule


@dataclass(frozen=True)
class Source:
    key: str
    ref: str                      # URL or gazette reference
    title: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where one dated value comes from. A value derived from a base carries the base's name and percentages."""
    valid_from: dt.date
    status: str                   # one of STATUSES
    source: str = ""              # key of the catalogue's [sources] ("" only for an assumption)
    reason: str = ""              # why an assumption was chosen / how a derived value was derived
    note: str = ""                # a disagreement between sources, shown by `isplata rules show`
    base: str = ""                # derived: name of the [bases] entry
    percent_bp: tuple = ()        # derived: per value, basis points of the base (10000 = 100 %)


@dataclass(frozen=True)
class Benefit:
    code: str
    name: str
    kind: str
    proration: str                # whole_months | days
    minimum_payable_minor: int
    below_minimum: str            # carry | drop
    protected: bool               # accepts only recovery deductions
    post_allowed: bool            # may be paid through the post when the bank account fails
    stops_on_death: bool
    age_min_years: int            # 0 = no limit
    age_max_years: int
    child_age_limit_years: int
    young_child_age_limit_years: int
    twins_excepted: bool
    decided_amount: bool          # the amount comes with the decision (rights.amount_minor)
    parameters: dict              # name -> tuple of (valid_from date, tuple of ints in the parameter's unit)
    info: dict = field(default_factory=dict)   # award_months, claim_within_months, indexation, payee, ...
    # RULES.md Readings (0 / "" / False = not used):
    lost_capacity_age_years: int = 0   # category sum: adults from this age are of lost working capacity (UA 60)
    claim_within_months: int = 0       # the month of application at most the first month + this (ME_NOVOROD 12)
    special_rate_benefit: str = ""     # per child: a child holding a right of this benefit gets the special rate
    multiple_of_benefit: str = ""      # one-off: a multiple of this benefit's due to the household that month
    multiple_bp: int = 0               # ... in basis points (UA_POHOV: 20000 = 2 x UA_DSD)
    recovery_allowed: bool = False     # a protected benefit from which overpayments may still be recovered
    provenance: dict = field(default_factory=dict)   # name -> tuple of Provenance, one per parameters[name] line
    unpriced: str = ""                 # why no amount (research status N): calculating it is refused
    note: str = ""                     # a disagreement of sources about the benefit, shown by rules show

    def value_on(self, name: str, day: dt.date) -> tuple | None:
        """The parameter's values in force on `day` (None before its first date)."""
        line = self.line_on(name, day)
        return None if line is None else self.parameters[name][line][1]

    def line_on(self, name: str, day: dt.date) -> int | None:
        """Position of the parameter's dated line in force on `day` (None before its first date)."""
        current = None
        for position, (valid_from, _values) in enumerate(self.parameters.get(name, ())):
            if valid_from <= day:
                current = position
        return current

    def provenance_on(self, name: str, day: dt.date) -> Provenance | None:
        """The source and status of the value in force on `day` (None before its first date, or for a benefit
        built in code without provenance)."""
        line = self.line_on(name, day)
        known = self.provenance.get(name, ())
        return None if line is None or line >= len(known) else known[line]


@dataclass(frozen=True)
class Catalogue:
    path: str
    sha256: str
    country: str
    name: str
    currency: str
    minor_exponent: int
    rounding_unit_minor: int
    payment: PaymentSettings
    deductions: DeductionRules
    benefits: tuple               # of Benefit, in file order (the benefit index of the engine)
    arrears_limit_months: int = 0  # limitation period of arrears (Readings 4); 0 = arrears are never cut
    sources: dict = field(default_factory=dict)   # key -> Source
    bases: dict = field(default_factory=dict)     # name -> tuple of (valid_from, minor units, Provenance)

    @property
    def benefit_codes(self) -> tuple:
        return tuple(benefit.code for benefit in self.benefits)

    def benefit(self, code: str) -> Benefit:
        for candidate in self.benefits:
            if candidate.code == code:
                return candidate
        raise KeyError(code)

    def benefit_index(self, code: str) -> int:
        return self.benefit_codes.index(code)

    def provenance(self, benefit: str, parameter: str, month) -> tuple | None:
        """(ref, title, status, reason) of the benefit's parameter value in force in `month` (a month index or a
        date); None where no value is in force. A derived value's reason names its base and the base's source."""
        day = month if isinstance(month, dt.date) else month_first_date(int(month))
        found = self.benefit(benefit).provenance_on(parameter, day.replace(day=1))
        if found is None:
            return None
        source = self.sources.get(found.source)
        reason = found.reason
        if found.base:
            reason = f"{reason}; {self.base_text(found.base, found.valid_from)}".lstrip("; ")
        return (source.ref if source else "", source.title if source else "", found.status, reason)

    def base_text(self, name: str, day: dt.date) -> str:
        """'base ua_pm_lost_capacity 2595.00 from 2026-01 (reported, <ref>)' as in force on `day`."""
        line = None
        for valid_from, minor, provenance in self.bases.get(name, ()):
            if valid_from <= day:
                line = (valid_from, minor, provenance)
        if line is None:
            return f"base {name}"
        valid_from, minor, provenance = line
        source = self.sources.get(provenance.source)
        amount = format_amount(minor, self.minor_exponent)
        cited = f", {source.ref}" if source else ""
        return f"base {name} {amount} from {valid_from:%Y-%m} ({provenance.status}{cited})"

    def first_month(self) -> int:
        """Earliest month index at which some benefit has all its parameters in force."""
        starts = []
        for benefit in self.benefits:
            dates = [] if benefit.unpriced else [values[0][0] for values in benefit.parameters.values()]
            if dates:
                starts.append(max(month_index(d.year, d.month) for d in dates))
        return min(starts)

    def engine_data(self) -> list[dict]:
        """Plain data for engine.catalogue.compile_catalogue (dates as month indexes)."""
        data = []
        for benefit in self.benefits:
            entry = {name: getattr(benefit, name) for name in engine_catalogue.BENEFIT_SETTINGS}
            entry.update(code=benefit.code, kind=benefit.kind, proration=benefit.proration,
                         unpriced=bool(benefit.unpriced))
            entry["parameters"] = {
                name: [(month_index(d.year, d.month), list(values)) for d, values in dated]
                for name, dated in benefit.parameters.items()}
            data.append(entry)
        return data

    def compile(self, first_month: int, last_month: int) -> engine_catalogue.CompiledCatalogue:
        return engine_catalogue.compile_catalogue(self.engine_data(), first_month, last_month)

    def compile_window(self, window_start, period: int) -> engine_catalogue.CompiledCatalogue:
        """Compiled for every month a compute_due over [window_start, period] reads (see compiled_range)."""
        from engine.entitlement import compiled_range

        return self.compile(*compiled_range(window_start, period, self.first_month()))


def catalogue_path(country: str | None = None) -> Path:
    """Path of a bundled catalogue (rules/<country>.toml); Montenegro by default."""
    code = (country or DEFAULT_COUNTRY).lower()
    if code not in COUNTRY_FILES:
        raise InputError([problem("--country", None, "country", country, N_("unknown country"),
                                  N_("use one of {value}", value=', '.join(COUNTRY_FILES)))])
    return Path(str(importlib.resources.files("rules").joinpath(COUNTRY_FILES[code])))


def load_catalogue(path: str | Path | None = None, country: str | None = None) -> Catalogue:
    """Read and validate a catalogue; `path` wins over `country`; neither means rules/montenegro.toml."""
    file_path = Path(path) if path is not None else catalogue_path(country)
    try:
        raw_bytes = file_path.read_bytes()
    except OSError as exc:
        raise InputError([problem(file_path, None, None, None, N_("cannot read the catalogue ({strerror})",
                                                                  strerror=exc.strerror),
                                  N_("give the path of an existing TOML rule catalogue"))]) from exc
    try:
        document = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError([problem(file_path, None, None, None, N_("not valid TOML: {exc}", exc=exc),
                                  N_("fix the syntax (see rules/montenegro.toml for the layout)"))]) from exc
    reader = _Reader(str(file_path))
    catalogue = reader.catalogue(document, hashlib.sha256(raw_bytes).hexdigest())
    if reader.problems:
        raise InputError(reader.problems)
    if country is not None and path is not None and catalogue.country != country.lower():
        raise InputError([problem(file_path, None, "country", catalogue.country,
                                  N_("the catalogue is for country {country}, not {country2}",
                                     country=repr(catalogue.country), country2=repr(country)),
                                  N_("pass the catalogue of the country or drop --country"))])
    return catalogue


class _Reader:
    """Walks the TOML document, collecting every problem instead of stopping at the first."""

    def __init__(self, file: str):
        self.file = file
        self.problems = []
        self.exponent = 2
        self.sources = {}         # key -> Source
        self.bases = {}           # name -> tuple of (valid_from, minor, Provenance)

    def add(self, where, value, rule, fix):
        self.problems.append(problem(self.file, None, where, value, rule, fix))

    # ---- top level ---------------------------------------------------------------------------------------

    def catalogue(self, doc: dict, sha256: str) -> Catalogue | None:
        self.unknown_keys(doc, TOP_KEYS, "")
        for key in REQUIRED_TOP_KEYS:
            if key not in doc:
                self.add(key, None, N_("missing {key}", key=repr(key)),
                         N_("add `{key} = ...` at the top of the catalogue", key=key))
        currency = self.currency(doc)
        country = self.text(doc, "country", "country", required=True)
        if country is not None and country not in COUNTRY_FILES:
            self.add("country", country, N_("unknown country code"), N_("use one of {value}",
                                                                    value=', '.join(COUNTRY_FILES)))
        payment = self.payment(doc.get("payment"))
        caps = self.deductions(doc.get("deductions"))
        defaults = doc.get("defaults", {})
        self.unknown_keys(defaults, POLICY_KEYS, "defaults.")
        self.sources = self.source_table(doc.get("sources", {}))
        self.bases = self.base_table(doc.get("bases", {}))
        benefits = self.benefits(doc.get("benefits"), defaults)
        if self.problems:
            return None
        limit = doc.get("arrears_limit_months", 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1200:
            self.add("arrears_limit_months", limit, N_("must be a whole number of months 0..1200"),
                     N_("0 (or no line) pays arrears back to the start of a retroactive decision however far"))
            return None
        return Catalogue(self.file, sha256, country, str(doc.get("name", country)), currency, self.exponent,
                         int(doc["rounding_unit_minor"]), payment, caps, tuple(benefits), limit, self.sources,
                         self.bases)

    def currency(self, doc):
        currency = self.text(doc, "currency", "currency", required=False)
        exponent = doc.get("minor_exponent")
        if currency is not None and currency not in CURRENCY_EXPONENTS:
            self.add("currency", currency, N_("unknown currency"), N_("use one of {value}",
                                                                  value=', '.join(CURRENCY_EXPONENTS)))
        if exponent is not None:
            if not isinstance(exponent, int) or isinstance(exponent, bool) or not 0 <= exponent <= 3:
                self.add("minor_exponent", exponent, N_("must be an integer 0..3"), N_("2 for EUR and UAH, 0 for RSD"))
            elif currency in CURRENCY_EXPONENTS and exponent != CURRENCY_EXPONENTS[currency]:
                digits = CURRENCY_EXPONENTS[currency]
                self.add("minor_exponent", exponent, N_("{currency} amounts have {digits} digits after the point in "
                                                        "payments", currency=currency, digits=digits),
                         N_("set minor_exponent = {digits}", digits=digits))
            else:
                self.exponent = exponent
        unit = doc.get("rounding_unit_minor")
        if "rounding_unit_minor" in doc and unit != 1:
            self.add("rounding_unit_minor", unit, N_("the engine rounds to one minor unit only"),
                     N_("set rounding_unit_minor = 1 and choose the unit with minor_exponent (0 = whole units)"))
        if doc.get("rounding", "half_up") != "half_up":
            self.add("rounding", doc.get("rounding"), N_("only half-up rounding is supported"),
                     N_("set rounding = \"half_up\""))
        return currency

    def payment(self, section):
        if not isinstance(section, dict):
            return None
        self.unknown_keys(section, PAYMENT_KEYS, "payment.")
        day = section.get("execution_day")
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 28:
            self.add("payment.execution_day", day, N_("must be a day of the month 1..28"),
                     N_("give the day payments are executed, e.g. 15"))
        texts = {key: self.text(section, key, f"payment.{key}", required=True)
                 for key in ("agency_name", "debtor_iban", "debtor_bic", "postal_delivery_method")}
        self.check_iban_bic(texts["debtor_iban"], texts["debtor_bic"])
        operator = str(section.get("postal_operator", ""))
        return PaymentSettings(day, texts["agency_name"], texts["debtor_iban"], texts["debtor_bic"],
                               texts["postal_delivery_method"], operator, **self.scheme_elements(section))

    def scheme_elements(self, section) -> dict:
        """The optional scheme elements of [payment]: 4-letter ISO codes, a known charge bearer and scheme."""
        found = {}
        for key in ("service_level", "charge_bearer", "category_purpose", "purpose", "scheme"):
            value = self.text(section, key, f"payment.{key}", required=False)
            if value is None:
                continue
            if key == "charge_bearer" and value not in CHARGE_BEARERS:
                self.add(f"payment.{key}", value, N_("must be one of {charge_bearers}", charge_bearers=CHARGE_BEARERS),
                         N_("e.g. charge_bearer = \"SLEV\""))
            elif key == "scheme" and value not in SCHEMES:
                self.add(f"payment.{key}", value, N_("must be one of {schemes}", schemes=SCHEMES),
                         N_("leave it out for no scheme checks"))
            elif key not in ("charge_bearer", "scheme") and not (len(value) == 4 and value.isalpha()
                                                                 and value.isupper()):
                self.add(f"payment.{key}", value, N_("an ISO 20022 code of 4 capital letters"), N_("e.g. \"SSBE\""))
            found[key] = value
        return found

    def check_iban_bic(self, iban, bic):
        from schwifty import IBAN
        from schwifty.exceptions import SchwiftyException

        from formats.bank_ids import bic_reason

        if iban is not None:
            try:
                IBAN(iban)
            except SchwiftyException as exc:
                self.add("payment.debtor_iban", iban, N_("invalid IBAN ({exc})", exc=exc),
                         N_("give the agency's account IBAN"))
        if bic is not None and bic_reason(str(bic)) is not None:
            self.add("payment.debtor_bic", bic, N_("invalid BIC ({exc})", exc=bic_reason(str(bic))),
                     N_("give the 8 or 11 character BIC"))

    def deductions(self, section):
        if not isinstance(section, dict):
            return None
        self.unknown_keys(section, DEDUCTION_TOP_KEYS | set(DEDUCTION_KINDS), "deductions.")
        caps = {key: self.bp(section, key, f"deductions.{key}", required=True) for key in DEDUCTION_TOP_KEYS}
        kinds = {}
        for kind in DEDUCTION_KINDS:
            rule = section.get(kind)
            if not isinstance(rule, dict):
                self.add(f"deductions.{kind}", None, N_("missing the {kind} deduction rule", kind=kind),
                         N_("add a [deductions.{kind}] table with priority, cap_bp and forwarded", kind=kind))
                continue
            self.unknown_keys(rule, DEDUCTION_KIND_KEYS, f"deductions.{kind}.")
            priority = rule.get("priority")
            if not isinstance(priority, int) or not 1 <= priority <= 9:
                self.add(f"deductions.{kind}.priority", priority, N_("must be an integer 1..9"), N_("1 = first served"))
            cap = self.bp(rule, "cap_bp", f"deductions.{kind}.cap_bp", required=True)
            consent = self.bp(rule, "cap_with_consent_bp", f"deductions.{kind}.cap_with_consent_bp", required=False)
            kinds[kind] = DeductionRule(kind, priority, cap, bool(rule.get("forwarded", False)), consent,
                                        bool(rule.get("agency_fault_exempt", False)))
        if len(kinds) != len(DEDUCTION_KINDS):
            return None
        return DeductionRules(DeductionCaps(
            alimony_bp=kinds["alimony"].cap_bp, damages_bp=kinds["damages"].cap_bp, support_bp=caps["shared_cap_bp"],
            recovery_bp=caps["recovery_default_bp"], recovery_consent_bp=caps["recovery_with_consent_bp"],
            enforcement_bp=kinds["enforcement"].cap_bp, total_bp=caps["total_cap_bp"],
            total_with_alimony_bp=caps["total_cap_with_alimony_bp"]), kinds)

    # ---- sources and bases -------------------------------------------------------------------------------

    def source_table(self, section) -> dict:
        if not isinstance(section, dict):
            self.add("sources", section, "[sources] must be a table", 'write key = { ref = "URL", title = "..." }')
            return {}
        sources = {}
        for key, entry in section.items():
            where = f"sources.{key}"
            if not isinstance(entry, dict):
                self.add(where, entry, "a source is a table with ref and title",
                         f'write {key} = {{ ref = "URL or gazette reference", title = "short title" }}')
                continue
            self.unknown_keys(entry, SOURCE_KEYS, f"{where}.")
            ref = self.text(entry, "ref", f"{where}.ref", required=True)
            title = self.text(entry, "title", f"{where}.title", required=False) or ""
            if ref is not None:
                sources[key] = Source(key, ref, title)
        return sources

    def base_table(self, section) -> dict:
        if not isinstance(section, dict):
            self.add("bases", section, "[bases] must be a table",
                     'write name = [ { valid_from = ..., value = "...", source = "key", status = "confirmed" } ]')
            return {}
        bases = {}
        for name, lines in section.items():
            if not name.replace("_", "").isalnum() or name.lower() != name:
                self.add(f"bases.{name}", name, "a base name is lower-case letters, digits and _",
                         "e.g. ua_pm_lost_capacity")
            dated = self.typed_lines(lines, name, f"bases.{name}", (1, "money"))
            bases[name] = tuple((valid_from, values[0], provenance) for valid_from, values, provenance in dated)
        return bases

    def provenance(self, line, valid_from, here, **derived) -> Provenance:
        """The source, status and reason of one dated line; every missing piece is a problem."""
        status, source = line.get("status"), line.get("source")
        reason, note = line.get("reason", ""), line.get("note", "")
        if status not in STATUSES:
            self.add(f"{here}.status", status, "every dated value needs a status: " + ", ".join(STATUSES),
                     'add status = "confirmed" (or reported, derived, assumption) and its source')
        if source is None and status != "assumption":
            self.add(f"{here}.source", None, "every dated value needs its source (a key of [sources])",
                     'add source = "key" naming the [sources] entry, or status = "assumption" with a reason')
        elif source is not None and source not in self.sources:
            self.add(f"{here}.source", source, "names no entry of [sources]",
                     f"add {source} = {{ ref = \"URL\", title = \"...\" }} to [sources] or use one of "
                     + (", ".join(sorted(self.sources)) or "(none yet)"))
        if status in ("assumption", "derived") and not (isinstance(reason, str) and reason.strip()):
            self.add(f"{here}.reason", None, f"a value with status {status!r} needs its reason",
                     'add reason = "why this value was chosen" (or how it was derived)')
        for key, text in (("reason", reason), ("note", note)):
            if not isinstance(text, str):
                self.add(f"{here}.{key}", text, "must be text", f'write {key} = "..."')
        return Provenance(valid_from, str(status), str(source or ""), str(reason), str(note), **derived)

    # ---- benefits ----------------------------------------------------------------------------------------

    def benefits(self, entries, defaults):
        if not isinstance(entries, list) or not entries:
            self.add("benefits", None, N_("no benefits"), N_("add at least one [[benefits]] table"))
            return []
        result, seen = [], set()
        for position, entry in enumerate(entries, start=1):
            where = f"benefits[{position}]"
            if not isinstance(entry, dict):
                self.add(where, entry, N_("a benefit must be a table"), N_("write it as [[benefits]]"))
                continue
            code = entry.get("code")
            if code in seen:
                self.add(f"{where}.code", code, N_("benefit code used twice"), N_("give every benefit its own code"))
            seen.add(code)
            benefit = self.benefit(entry, defaults, where)
            if benefit is not None:
                result.append(benefit)
        self.check_references(result)
        return result

    def check_references(self, benefits):
        """special_rate_benefit and multiple_of_benefit name a benefit of this catalogue, of a fitting kind."""
        codes = {benefit.code for benefit in benefits}
        for benefit in benefits:
            where = f"benefit {benefit.code}"
            for key in CODE_SETTING_KEYS:
                named = getattr(benefit, key)
                if named and named not in codes:
                    self.add(f"{where}.{key}", named, N_("names no benefit of this catalogue"),
                             N_("use one of {value}", value=', '.join(sorted(codes))))
            if benefit.special_rate_benefit and benefit.kind != "per_child":
                self.add(f"{where}.special_rate_benefit", benefit.special_rate_benefit,
                         N_("only a per_child benefit has a special rate"), N_("remove the line"))
            if benefit.multiple_of_benefit and (benefit.kind != "one_off" or benefit.multiple_bp <= 0):
                self.add(f"{where}.multiple_of_benefit", benefit.multiple_of_benefit,
                         N_("a multiple of a household benefit is a one_off with multiple_bp > 0"),
                         N_("set kind = \"one_off\" and multiple_bp (20000 = 2 x)"))

    def benefit(self, entry, defaults, where):
        self.unknown_keys(entry, BENEFIT_KEYS, f"{where}.")
        code = self.text(entry, "code", f"{where}.code", required=True)
        if code is not None and (not code.replace("_", "").isalnum() or code.upper() != code):
            self.add(f"{where}.code", code, N_("a code is upper-case letters, digits and _"), N_("e.g. ME_MO"))
        where = f"benefit {code}" if code else where
        kind = entry.get("kind")
        if kind not in engine_catalogue.KINDS:
            self.add(f"{where}.kind", kind, N_("unknown formula kind"), N_("use one of {value}",
                                                                       value=', '.join(engine_catalogue.KINDS)))
            kind = None
        policy = {key: entry.get(key, defaults.get(key)) for key in POLICY_KEYS}
        proration = policy["proration"] or "whole_months"
        if proration not in engine_catalogue.PRORATIONS:
            self.add(f"{where}.proration", proration, N_("unknown proration policy"), N_("whole_months or days"))
        elif proration == "days" and kind in ("lump_sum_instalments", "one_off", "monthly_rate_times_days"):
            self.add(f"{where}.proration", proration, N_("a {kind} benefit is not prorated by days", kind=kind),
                     N_("remove proration or set proration = \"whole_months\""))
        below = policy["below_minimum"] or "carry"
        if below not in BELOW_MINIMUM_POLICIES:
            self.add(f"{where}.below_minimum", below, N_("unknown below-minimum policy"), N_("carry or drop"))
        minimum = self.money(policy["minimum_payable"] if policy["minimum_payable"] is not None else "0",
                             f"{where}.minimum_payable")
        flags = {key: self.flag(entry, defaults, key, where) for key in BOOL_SETTING_KEYS}
        ints = {key: self.count(entry.get(key, _INT_DEFAULTS[key]), f"{where}.{key}",
                                bound=PARAM_BP_MAX if key == "multiple_bp" else 150) for key in INT_SETTING_KEYS}
        named = {key: self.text(entry, key, f"{where}.{key}", required=False) or "" for key in CODE_SETTING_KEYS}
        unpriced = self.text(entry, "unpriced", f"{where}.unpriced", required=False) or ""
        parameters = self.parameters(entry.get("parameters", {}), kind, flags["decided_amount"]
                                     or bool(entry.get("multiple_of_benefit")) or bool(unpriced), where)
        provenance = {name: tuple(p for _d, _v, p in lines) for name, lines in parameters.items()}
        parameters = {name: tuple((d, v) for d, v, _p in lines) for name, lines in parameters.items()}
        info = {key: entry[key] for key in ("award_months", "claim_within_months", "indexation", "payee",
                                            "legal_basis", "notes") if key in entry}
        if code is None or kind is None:
            return None
        return Benefit(code, str(entry.get("name", code)), kind, proration, minimum, below, flags["protected"],
                       flags["post_allowed"], flags["stops_on_death"], ints["age_min_years"], ints["age_max_years"],
                       ints["child_age_limit_years"], ints["young_child_age_limit_years"], flags["twins_excepted"],
                       flags["decided_amount"], parameters, info, ints["lost_capacity_age_years"],
                       ints["claim_within_months"], named["special_rate_benefit"], named["multiple_of_benefit"],
                       ints["multiple_bp"], flags["recovery_allowed"], provenance, unpriced,
                       self.text(entry, "note", f"{where}.note", required=False) or "")

    def flag(self, entry, defaults, key, where):
        value = entry.get(key, defaults.get(key, _BOOL_DEFAULTS[key]))
        if not isinstance(value, bool):
            self.add(f"{where}.{key}", value, N_("must be true or false"), N_("write {key} = true or {key} = false",
                                                                          key=key))
            return bool(_BOOL_DEFAULTS[key])
        return value

    def parameters(self, given, kind, decided_amount, where):
        if not isinstance(given, dict):
            self.add(f"{where}.parameters", given, N_("parameters must be a table"), N_("write [benefits.parameters]"))
            return {}
        if kind is None:
            return {}
        spec = engine_catalogue.KIND_PARAMS[kind]
        allowed = set(spec["required"]) | set(spec["optional"])
        for name in given:
            if name not in allowed:
                self.add(f"{where}.parameters.{name}", None, N_("unknown parameter for kind {kind}", kind=kind),
                         N_("use one of {value}", value=', '.join(sorted(allowed))))
        if not decided_amount:
            for name in spec["required"]:
                if name not in given:
                    self.add(f"{where}.parameters.{name}", None, N_("missing parameter {name} (kind {kind})", name=repr(name), kind=kind),
                             f'add {name} = [ {{ valid_from = YYYY-MM-01, value = ..., source = "key", '
                             'status = "confirmed" }} ], or unpriced = "reason" when no source gives an amount')
        return {name: self.dated(given[name], name, f"{where}.parameters.{name}")
                for name in given if name in allowed}

    def dated(self, lines, name, where):
        """(valid_from, values, Provenance) lines of a parameter: typed values, or values derived from a base
        (one line per month the base changes within the derived line's span)."""
        shape = engine_catalogue.PARAM_SHAPES[name]
        if not isinstance(lines, list) or not lines:
            return self.typed_lines(lines, name, where, shape)
        starts = [line.get("valid_from") if isinstance(line, dict) else None for line in lines]
        result, length = [], None
        for position, line in enumerate(lines, start=1):
            here = f"{where}[{position}]"
            if isinstance(line, dict) and "base" in line:
                end = starts[position] if position < len(starts) else None
                expanded = self.derived_lines(line, here, shape, end if isinstance(end, dt.date) else None)
            else:
                expanded = self.typed_lines([line], name, where, shape, position)
            for valid_from, values, provenance in expanded:
                if result and valid_from <= result[-1][0]:
                    self.add(f"{here}.valid_from", valid_from, "parameter dates out of order",
                             f"list the values by increasing valid_from (after {result[-1][0]})")
                if length is not None and len(values) != length:
                    self.add(f"{here}.value", list(values), "every dated value needs the same number of entries",
                             f"give {length} entries as in the first line")
                length = len(values)
                result.append((valid_from, values, provenance))
                if name in engine_catalogue.POSITIVE_PARAMS and 0 in values:
                    self.add(f"{here}.value", list(values), f"{name} divides: it must be more than 0",
                             "give the figure from the decree")
        return tuple(result)

    def typed_lines(self, lines, name, where, shape, first_position=1):
        if not isinstance(lines, list) or not lines:
            self.add(where, None, "a parameter is a non-empty list of {valid_from, value, source, status}",
                     f'write {name} = [ {{ valid_from = 2024-01-01, value = ..., source = "key", '
                     'status = "confirmed" }} ]')
            return ()
        max_len, unit = shape
        result = []
        for position, line in enumerate(lines, start=first_position):
            here = f"{where}[{position}]"
            if not isinstance(line, dict) or not {"valid_from", "value"} <= set(line) or set(line) - VALUE_LINE_KEYS:
                self.add(here, line, "each line needs valid_from and value, with source and status",
                         'write { valid_from = 2024-07-01, value = ..., source = "key", status = "confirmed" }')
                continue
            valid_from = self.first_of_month(line["valid_from"], f"{here}.valid_from")
            if valid_from is None:
                continue
            if result and valid_from <= result[-1][0]:
                self.add(f"{here}.valid_from", valid_from, "parameter dates out of order",
                         f"list the values by increasing valid_from (after {result[-1][0]})")
            provenance = self.provenance(line, valid_from, here)
            values = line["value"] if isinstance(line["value"], list) else [line["value"]]
            if not 1 <= len(values) <= max_len:
                self.add(f"{here}.value", line["value"], N_("needs 1..{max_len} values", max_len=max_len),
                         N_("give the list of values"))
                continue
            result.append((valid_from, tuple(self.unit_value(v, unit, f"{here}.value") for v in values), provenance))
        return tuple(result)

    def derived_lines(self, line, here, shape, end):
        """A value derived from a base: percent_bp of the base in force, rounded half-up to the minor unit, from
        valid_from and again from every month the base changes before `end` (the parameter's next line)."""
        max_len, unit = shape
        if set(line) - DERIVED_LINE_KEYS or "valid_from" not in line or "percent_bp" not in line:
            self.add(here, line, "a derived line has valid_from, base, percent_bp, source, status and reason",
                     'write { valid_from = 2025-01-01, base = "name", percent_bp = 10000, status = "derived", ... }')
            return ()
        valid_from = self.first_of_month(line["valid_from"], f"{here}.valid_from")
        base = self.bases.get(line["base"])
        if base is None:
            self.add(f"{here}.base", line["base"], "names no entry of [bases]",
                     f"use one of {', '.join(sorted(self.bases)) or '(none: add a [bases] table)'}")
        percents = line["percent_bp"] if isinstance(line["percent_bp"], list) else [line["percent_bp"]]
        percents = tuple(self.unit_value(p, "bp", f"{here}.percent_bp") for p in percents)
        if unit != "money" or not 1 <= len(percents) <= max_len:
            self.add(f"{here}.percent_bp", line["percent_bp"], f"a money parameter of 1..{max_len} values derives "
                     "from a base", "give one percentage in basis points per value, or type the values")
            return ()
        if valid_from is None or base is None:
            return ()
        changes = [day for day, _minor, _p in base if valid_from < day and (end is None or day < end)]
        result = []
        for day in [valid_from] + changes:
            in_force = [minor for base_day, minor, _p in base if base_day <= day]
            if not in_force:
                self.add(f"{here}.base", line["base"], f"the base has no value in force in {day:%Y-%m}",
                         f"start the derived line at the base's first date ({base[0][0]}) or later")
                continue
            values = tuple((in_force[-1] * percent + 5_000) // 10_000 for percent in percents)
            result.append((day, values, self.provenance(line, day, here, base=line["base"], percent_bp=percents)))
        return result

    def first_of_month(self, valid_from, where):
        if not isinstance(valid_from, dt.date) or isinstance(valid_from, dt.datetime) or valid_from.day != 1:
            self.add(where, valid_from, "valid_from must be a date on the first of a month",
                     "write a bare TOML date such as 2024-07-01")
            return None
        return valid_from

    def unit_value(self, value, unit, where):
        if unit == "money":
            return self.money(value, where)
        bound = PARAM_BP_MAX if unit == "bp" else PARAM_COUNT_MAX
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound:
            self.add(where, value, N_("must be an integer 0..{bound} ({unit})", bound=bound, unit=unit),
                     "basis points: 10000 = 100 %" if unit == "bp" else "give a whole number")
            return 0
        return value

    # ---- scalars -----------------------------------------------------------------------------------------

    def money(self, value, where) -> int:
        if not isinstance(value, str):
            self.add(where, value, N_("amounts are written as decimal text"), N_("write e.g. \"87.91\" in quotes"))
            return 0
        if value.strip().startswith("-"):
            self.add(where, value, N_("negative amount"), N_("amounts in a catalogue are zero or more"))
            return 0
        try:
            minor = parse_amount(value, self.exponent)
        except ValueError as exc:
            self.add(where, value, str(exc), N_("write the amount with at most {exponent} decimals",
                                                exponent=self.exponent))
            return 0
        if minor > PARAM_AMOUNT_MINOR_MAX:
            self.add(where, value, N_("amount above the catalogue bound"), N_("check the figure (too many digits?)"))
        return max(0, min(minor, PARAM_AMOUNT_MINOR_MAX))

    def bp(self, section, key, where, required):
        value = section.get(key)
        if value is None:
            if required:
                self.add(where, None, N_("missing {key}", key=repr(key)),
                         N_("give a share in basis points, 10000 = 100 %"))
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            self.add(where, value, N_("must be basis points 0..10000"), N_("10000 = 100 %, 5000 = 50 %"))
            return None
        return value

    def count(self, value, where, bound: int = 150) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= bound:
            self.add(where, value, N_("must be a whole number 0..{bound}", bound=bound), N_("0 means no limit"))
            return 0
        return value

    def text(self, section, key, where, required):
        value = section.get(key)
        if value is None:
            if required:
                self.add(where, None, N_("missing {key}", key=repr(key)), N_("add {key} = \"...\"", key=key))
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(where, value, N_("must be non-empty text"), N_("write {key} = \"...\"", key=key))
            return None
        return value

    def unknown_keys(self, section, allowed, prefix):
        if not isinstance(section, dict):
            return
        for key in section:
            if key not in allowed:
                self.add(f"{prefix}{key}", None, N_("unknown key"), N_("remove it or use one of {value}",
                                                                   value=', '.join(sorted(allowed))))


_INT_DEFAULTS = {"age_min_years": 0, "age_max_years": 0, "child_age_limit_years": 18,
                 "young_child_age_limit_years": 6, "award_months": 0, "claim_within_months": 0,
                 "lost_capacity_age_years": 0, "multiple_bp": 0}
_BOOL_DEFAULTS = {"protected": False, "post_allowed": True, "stops_on_death": True, "twins_excepted": False,
                  "decided_amount": False, "recovery_allowed": False}
