"""Arrow schemas of every register input and of the payroll lines: the contract between files and code.

A register snapshot is one folder holding persons, households, rights, payees and deductions, each as
`<name>.parquet` (or `<name>.csv` for small hand-made inputs). Dates are date32, money int64 minor units of the
catalogue's currency, rates basis points (10_000 = 100 %). Columns marked required must be present and non-null.
"""
import pyarrow as pa

# ---- inputs -------------------------------------------------------------------------------------------------

PERSONS = pa.schema([
    pa.field("person_id", pa.int64(), nullable=False),
    pa.field("birth_date", pa.date32(), nullable=False),
    pa.field("death_date", pa.date32()),
    pa.field("family_name", pa.string(), nullable=False),
    pa.field("given_name", pa.string(), nullable=False),
    pa.field("patronymic", pa.string()),
    pa.field("tax_id", pa.string()),
    pa.field("municipality", pa.string(), nullable=False),
    # facts of the person that formulas read
    pa.field("disabled", pa.bool_()),                 # lost working capacity / receives disability benefit
    pa.field("without_parental_care", pa.bool_()),    # child without parental care (higher child allowance)
])

HOUSEHOLDS = pa.schema([  # membership: one row per person per household spell
    pa.field("household_id", pa.int64(), nullable=False),
    pa.field("person_id", pa.int64(), nullable=False),
    pa.field("role", pa.string(), nullable=False),    # HOUSEHOLD_ROLES
    pa.field("member_from", pa.date32(), nullable=False),
    pa.field("member_to", pa.date32()),
])
HOUSEHOLD_ROLES = ("head", "adult", "child")

RIGHTS = pa.schema([  # one row per version of a right
    pa.field("right_id", pa.int64(), nullable=False),
    pa.field("version", pa.int32(), nullable=False),
    pa.field("benefit", pa.string(), nullable=False),  # benefit code of the catalogue, e.g. ME_MO
    pa.field("person_id", pa.int64(), nullable=False),  # beneficiary
    pa.field("household_id", pa.int64()),               # required by household and per-child formulas
    pa.field("payee_id", pa.int64(), nullable=False),
    pa.field("valid_from", pa.date32(), nullable=False),
    pa.field("valid_to", pa.date32()),                  # inclusive; null = open-ended
    pa.field("decided_on", pa.date32(), nullable=False),
    pa.field("income_minor", pa.int64()),               # household monthly income (average where the law says)
    pa.field("grade", pa.int16()),                      # grade / group for graded benefits, 1-based
    pa.field("birth_order", pa.int16()),                # for birth grants and parental allowance
    pa.field("mo_family", pa.bool_()),                  # household receives means-tested support
    pa.field("single_parent", pa.bool_()),
    pa.field("unable_to_work", pa.bool_()),             # no member of the household can work
    pa.field("consent_full_recovery", pa.bool_()),      # recipient consented to 100 % recovery
    # decided amount of a one-off whose catalogue says decided_amount = true
    pa.field("amount_minor", pa.int64()),
    # date of the application (RULES.md Readings 5: claim windows); null = taken as the decision day
    pa.field("applied_on", pa.date32()),
    # the decision corrects the agency's own fault, not an arithmetic error (Readings 11): a reduction it makes
    # is written off, never recovered
    pa.field("agency_fault", pa.bool_()),
])

PAYEES = pa.schema([
    pa.field("payee_id", pa.int64(), nullable=False),
    pa.field("channel", pa.string(), nullable=False),  # CHANNELS
    pa.field("kind", pa.string(), nullable=False),     # PAYEE_KINDS
    pa.field("name", pa.string(), nullable=False),
    pa.field("iban", pa.string()),                     # required for bank
    pa.field("bic", pa.string()),
    pa.field("street", pa.string()),                   # street, town, postcode, country required for post
    pa.field("house_number", pa.string()),
    pa.field("postcode", pa.string()),
    pa.field("town", pa.string()),
    pa.field("district", pa.string()),
    pa.field("region", pa.string()),
    pa.field("country", pa.string(), nullable=False),  # ISO 3166 alpha-2
    pa.field("tax_id", pa.string()),
    pa.field("phone", pa.string()),
])
CHANNELS = ("bank", "post")
PAYEE_KINDS = ("person", "guardian", "institution", "creditor")

DEDUCTIONS = pa.schema([
    pa.field("order_id", pa.int64(), nullable=False),
    pa.field("right_id", pa.int64(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),         # DEDUCTION_KINDS
    pa.field("priority", pa.int16(), nullable=False),      # 1 alimony, 2 damages, 3 overpayment, 4 enforcement
    pa.field("fixed_minor", pa.int64()),                   # monthly fixed amount, or
    pa.field("percent_bp", pa.int32()),                    # share of the gross in basis points
    pa.field("outstanding_minor", pa.int64()),             # balance still owed; null = no limit
    pa.field("creditor_payee_id", pa.int64()),             # required except for overpayment (the agency)
    pa.field("valid_from", pa.date32(), nullable=False),
    pa.field("valid_to", pa.date32()),
    pa.field("for_minor", pa.bool_()),                     # alimony for a minor (null = true; Readings 10)
    pa.field("agency_fault", pa.bool_()),                  # overpayment caused by the agency: written off (Readings 11)
])
DEDUCTION_KINDS = ("alimony", "damages", "overpayment", "enforcement")
DEDUCTION_PRIORITY = {"alimony": 1, "damages": 2, "overpayment": 3, "enforcement": 4}

REGISTER = {
    "persons": PERSONS,
    "households": HOUSEHOLDS,
    "rights": RIGHTS,
    "payees": PAYEES,
    "deductions": DEDUCTIONS,
}

# An enforceable maintenance title (court decision or agreement) that a debtor parent does not pay: while it is in
# force, a maintenance_advance right of the child is due and each advance paid becomes a claim on the debtor
# (research ME #19, UA #11). A title in the register means "unpaid"; the agency ends it (valid_to) when the debtor
# pays again. One title in force per child at a time.
MAINTENANCE_TITLES = pa.schema([
    pa.field("title_id", pa.int64(), nullable=False),
    pa.field("child_id", pa.int64(), nullable=False),    # person: the child the maintenance is for
    pa.field("debtor_id", pa.int64(), nullable=False),   # person: the parent who owes it
    pa.field("monthly_minor", pa.int64()),               # the monthly maintenance the title sets; null = not given
    pa.field("valid_from", pa.date32(), nullable=False),
    pa.field("valid_to", pa.date32()),                   # inclusive; null = open-ended
])

# Tables a snapshot may leave out (read as empty when their file is absent); validated like the others.
OPTIONAL_TABLES = {
    "maintenance_titles": MAINTENANCE_TITLES,
}

# ---- outputs ------------------------------------------------------------------------------------------------

COMPONENTS = ("due", "arrears", "recovery", "alimony", "damages", "enforcement", "forwarded",
              "carry_in", "carry_out", "reissue")

PAYROLL_LINES = pa.schema([
    pa.field("payroll", pa.string(), nullable=False),
    pa.field("right_id", pa.int64(), nullable=False),
    pa.field("benefit", pa.string(), nullable=False),
    pa.field("payee_id", pa.int64(), nullable=False),
    pa.field("channel", pa.string(), nullable=False),
    pa.field("month", pa.date32(), nullable=False),     # first day of the month the amount is for
    pa.field("component", pa.string(), nullable=False),
    pa.field("amount_minor", pa.int64(), nullable=False),
    pa.field("payment_ref", pa.string()),               # EndToEndId of the payment it belongs to
])
