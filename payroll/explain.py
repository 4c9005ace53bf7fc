""""Why this amount?": one right of one payroll, month by month, from the payroll's recorded inputs only.

For every month of the right's window: the version in force, the household members counted and why (age,
category), the catalogue parameters in force with their dates, sources and statuses, the formula with its numbers, what was due (the
engine's figure), what the ledger had already recognised (as of the payroll's batch mark; before the ledger's
first payroll, what the legacy system paid) and the difference this payroll pays or recovers; then each deduction
taken with its cap, the payment the right's money went into and that payment's fate (sent, returned, rejected,
re-issued).

The register files and the catalogue must still hash as recorded at calculation (refused otherwise), and the
ledger is read as of the payroll's marks, so the answer is the same a year later. Every amount comes from the
engine (engine.entitlement for the months, payroll.compute's differences for what is paid) or from the stored
payroll lines: no rule is computed here a second time.
"""
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine import entitlement
from engine.catalogue import PARAM_SHAPES
from formats.amounts import format_amount
from engine.months import format_period, month_first_date, parse_period
from formats import i18n, labels
from formats.catalogue import load_catalogue
from formats.i18n import N_, join
from payroll import audit, session, store
from payroll.errors import Refused

DIFFERENCE_COMPONENTS = ("due", "arrears", "overpayment", "time_barred", "written_off")
CATEGORIES = (N_("member"), N_("child (role child, within the child age limit)"), N_("young child"), N_("child"),
              N_("disabled adult"))
ROLES = (N_("head"), N_("adult"), N_("child"))
FATE_COMPONENTS = {"return": N_("returned"), "reject": N_("rejected")}


@dataclass
class Prepared:
    """What every right of one payroll is explained from, read and computed once."""
    record: store.PayrollRecord
    catalogue: object
    status: str
    inputs: object            # payroll.compute.Inputs as the calculation saw them
    arrays: object            # engine.entitlement.RegisterArrays
    held: np.ndarray          # per right index: paid nothing (a hold)
    differences: dict         # {component: (right index, month, amount)}: payroll.compute's differences, split
    starts: np.ndarray        # per right index: first month of its window
    compiled: object          # engine.catalogue.CompiledCatalogue over every window
    cells: object             # engine.entitlement.DueCells of every right (a due may read other rights' facts)
    legacy: tuple             # (right index, month, amount) the legacy system paid (payroll.compute)
    lines: pa.Table           # the stored payroll lines (checked against their SHA-256)


def explain(db_url: str, right_id: int, period_text: str, payroll_id: str | None = None, progress=session.noop) -> dict:
    """The explanation of `right_id` in the payroll of `period_text` (the latest run unless `payroll_id`)."""
    ledger = session.open_db(db_url)
    try:
        record = chosen_payroll(ledger, period_text, payroll_id)
        prepared = prepare(ledger, record, progress)
        progress(N_("explaining the right's months"))
        return explain_right(ledger, prepared, right_id)
    finally:
        ledger.close()


def prepare(ledger, record: store.PayrollRecord, progress=session.noop) -> Prepared:
    from formats import convert
    from payroll import compute as computing

    progress(N_("checking the recorded inputs"))
    catalogue = recorded_catalogue(record)
    progress(N_("reading the recorded register and the ledger as the payroll saw it"))
    period = parse_period(record.period)
    inputs = session.load_inputs(ledger, record.data_folder, catalogue, period, record.batch_mark, record.hold_mark)
    progress(N_("computing the months with the engine"))
    arrays = convert.register_arrays(inputs.register, catalogue)
    routing = computing.route(inputs, arrays)
    held, ended = routing.held, computing.ended_hold_starts(inputs, routing)
    differences = split_differences(inputs, arrays, computing.differences(arrays, inputs, held, ended))
    starts, compiled = computing.windows(arrays, inputs, ended)  # the windows the payroll computed
    cells = entitlement.compute_due(arrays, compiled, period, starts)
    legacy = computing.legacy_baseline(arrays, compiled, starts, computing.legacy_cutoff_month(inputs),
                                       computing.awards.award_limits(inputs.catalogue))
    progress(N_("reading the payroll lines"))
    status = session.status_of(ledger, record.payroll_id)["status"]
    return Prepared(record, catalogue, status, inputs, arrays, held, differences, starts, compiled, cells, legacy,
                    store.read_lines(record))


def split_differences(inputs, arrays, found) -> dict:
    """payroll.compute's differences by the component its lines carry: paid or raised (due, arrears,
    overpayment), time-barred and written off (payroll.compute.split_differences)."""
    from payroll import compute as computing

    right, month, amount = found[:3]
    kept, barred, written = computing.split_differences(inputs, arrays, right, month, amount)
    return {"kept": kept, "time_barred": barred, "written_off": written}


def explain_right(ledger, prepared: Prepared, right_id: int) -> dict:
    from formats import convert

    index = int(convert.right_index_of(prepared.arrays, [right_id])[0])
    if index < 0:
        raise Refused(N_("right {right_id} is not in the register {payroll_id} was calculated from; check the "
                         "right's id, or give the --payroll of a month that had it",
                         right_id=right_id, payroll_id=prepared.record.payroll_id))
    months = right_months(prepared, index)
    lines = right_lines(prepared.lines, right_id)
    fates = payment_fates(ledger, prepared.record, {line["payment_ref"] for line in lines if line["payment_ref"]},
                          right_id)
    facts = {"benefit": prepared.catalogue.benefit_codes[int(prepared.arrays.right_benefit[index])],
             "held": bool(prepared.held[index]), "window_start": format_period(int(prepared.starts[index]))}
    return assemble(prepared.record, prepared.catalogue, prepared.status, right_id, months, facts, lines, fates)


def chosen_payroll(ledger, period_text: str, payroll_id: str | None) -> store.PayrollRecord:
    period = format_period(session.parse_period_arg(period_text))
    with ledger.engine.connect() as conn:
        if payroll_id:
            record = store.get_payroll(conn, payroll_id)
            if record.period != period:
                raise Refused(N_("payroll {payroll_id} is for {period}, not {period2}: give --period {period} or "
                                 "another --payroll", payroll_id=payroll_id, period=record.period, period2=period))
            return record
        records = store.list_payrolls(conn, period)
    if not records:
        raise Refused(N_("no payroll for {period} in this database; `isplata payroll list` shows the payrolls",
                         period=period))
    return max(records, key=lambda r: r.run_no)


def recorded_catalogue(record: store.PayrollRecord):
    """The catalogue the payroll was calculated with, after checking it and every register file against the
    SHA-256 recorded at calculation: an explanation from other inputs would not be this payroll's."""
    differences = audit.input_differences(record)
    if not Path(record.catalogue_path).is_file():
        differences.append(N_("catalogue {path} is missing", path=record.catalogue_path))
    else:
        catalogue = load_catalogue(record.catalogue_path)
        if catalogue.sha256 != record.catalogue_sha256:
            differences.append(N_("catalogue {path} changed: sha256 {sha256} != recorded {recorded}",
                                  path=record.catalogue_path, sha256=catalogue.sha256,
                                  recorded=record.catalogue_sha256))
    if differences:
        raise Refused(N_("{payroll} cannot be explained from its recorded inputs: {differences}; restore the register "
                         "folder and catalogue as they were at calculation", payroll=record.payroll_id,
                         differences=i18n.join(differences[:5], "; ")))
    return catalogue


def right_months(prepared: Prepared, index: int) -> list[dict]:
    """Per month of the right's window: due (the engine's figure for this right alone), recognised, the
    difference this payroll takes up (payroll.compute's, for the whole register) and the facts behind the due."""
    taken_up = {}
    for kind, (right, month, amount) in prepared.differences.items():
        mine = right == index
        for m, a in zip(month[mine].tolist(), amount[mine].tolist()):
            taken_up[m] = (a, kind)
    window = engine_window(prepared, index)
    return [month_row(prepared.inputs, window, m, due, *taken_up.get(m, (0, "kept"))) for m, due in window["due"]]


def engine_window(prepared: Prepared, index: int) -> dict:
    """The engine's due per month over the right's window (computed with the whole register, as the payroll
    was), what the ledger (or, before its first payroll, the legacy system) recognised per month, and the
    right's own register arrays for the month facts."""
    from payroll import compute as computing

    period, cells = prepared.inputs.period, prepared.cells
    rows = slice(int(cells.offsets[index]), int(cells.offsets[index + 1]))
    state = prepared.inputs.state
    right_id = int(prepared.arrays.right_ids[index])
    recognised = {}
    mine = state.recognised_right == right_id
    for month, amount in zip(state.recognised_month[mine].tolist(), state.recognised_minor[mine].tolist()):
        recognised[month] = recognised.get(month, 0) + amount
    legacy = {}
    mine = prepared.legacy[0] == index
    for month, amount in zip(prepared.legacy[1][mine].tolist(), prepared.legacy[2][mine].tolist()):
        legacy[month] = legacy.get(month, 0) + amount
    return {"due": list(zip(cells.month[rows].tolist(), cells.due_minor[rows].tolist())), "recognised": recognised,
            "legacy": legacy, "arrays": computing.rights_subset(prepared.arrays, np.array([index], np.int64)),
            "decided_limit_day": (month_first_date(period + 1) - month_first_date(0)).days - 1}


def month_row(inputs, window: dict, month: int, due_minor: int, difference_minor: int, kind: str) -> dict:
    recognised = window["recognised"].get(month, 0)
    legacy = window["legacy"].get(month, 0)
    component = None
    if kind != "kept":
        component = kind
    elif difference_minor > 0:
        component = "due" if month == inputs.period else "arrears"
    elif difference_minor < 0:
        component = "overpayment"
    row = {"month": format_period(month), "due_minor": int(due_minor), "recognised_minor": int(recognised),
           "legacy_paid_minor": int(legacy), "difference_minor": int(difference_minor), "component": component}
    row.update(month_facts(inputs, window, month))
    row["formula"] = N_("{formula} = due {amount}", formula=row["formula"],
                        amount=format_amount(due_minor, inputs.catalogue.minor_exponent))
    return row


def month_facts(inputs, window: dict, month: int) -> dict:
    """The version in force (the engine's own choice), the members counted and the parameters in force."""
    one = window["arrays"]
    packed = one.packed if one.packed is not None else entitlement.pack_register(one)
    v = int(entitlement._winning_version(0, int(one.version_offsets[1]), month, packed.ver32,
                                         window["decided_limit_day"]))
    benefit = inputs.catalogue.benefits[int(one.right_benefit[0])]
    if v < 0:
        return {"version": None, "members": [], "parameters": {},
                "formula": N_("no version in force: nothing due")}
    version = {"version": int(one.ver_number[v]), "valid_from": day_text(one.ver_from_day[v]),
               "valid_to": None if one.ver_to_day[v] == entitlement.NO_DAY else day_text(one.ver_to_day[v]),
               "decided_on": day_text(one.ver_decided_day[v]), "income_minor": int(one.ver_income_minor[v]),
               "grade": int(one.ver_grade[v]), "birth_order": int(one.ver_birth_order[v]),
               "decided_amount_minor": int(one.ver_amount_minor[v]), "mo_family": bool(one.ver_mo_family[v]),
               "single_parent": bool(one.ver_single_parent[v]), "unable_to_work": bool(one.ver_unable_to_work[v])}
    members = counted_members(one, packed, v, month, benefit)
    parameters = parameters_in_force(inputs.catalogue, benefit, month_first_date(month))
    return {"version": version, "members": members, "parameters": parameters,
            "formula": formula_text(benefit, version, members, parameters, inputs.catalogue.minor_exponent)}


def day_text(days) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=int(days))).isoformat()


def counted_members(one, packed, v: int, month: int, benefit) -> list[dict]:
    """Each member of the version's household in `month`, counted or not and in which category, decided by
    the engine's own helpers (_member_present, _count_one)."""
    household = int(one.ver_household[v])
    rows = range(int(one.member_offsets[household]), int(one.member_offsets[household + 1])) if household >= 0 else ()
    members, seen = [], set()
    for j in rows:
        person = int(packed.member32[j, entitlement.M_PERSON])
        present = bool(entitlement._member_present(j, month, packed.member32, packed.person32)) and person not in seen
        role = int(packed.member32[j, entitlement.M_ROLE])
        categories = []
        if present:
            seen.add(person)
            counts = np.zeros(5, np.int64)
            entitlement._count_one(person, month, benefit.child_age_limit_years,
                                   benefit.young_child_age_limit_years, benefit.lost_capacity_age_years,
                                   packed.person32, counts)
            categories = [CATEGORIES[i] for i in range(1, 5) if counts[i]]
        members.append({"person_id": int(one.person_ids[person]), "role": ROLES[role],
                        "born": day_text(packed.person32[person, entitlement.P_BIRTH_DAY]),
                        "counted": present, "categories": categories,
                        "why": member_reason(present, categories, month, packed, person)})
    return members


def member_reason(present: bool, categories: list, month: int, packed, person: int) -> str:
    if not present:
        return N_("not a member that month (joined later, left earlier, not yet born or deceased)")
    age = (month - int(packed.person32[person, entitlement.P_BIRTH_MONTH])) // 12
    return N_("aged {age} that month: {categories}", age=age,
              categories=i18n.join(categories) if categories else N_("adult"))


def parameters_in_force(catalogue, benefit, day: dt.date) -> dict:
    """{name: {"valid_from", "values", "ref", "title", "status", "reason"}} of the benefit's parameters in force
    on `day`, each with the source and status the catalogue gives it (a derived value's reason names its base)."""
    found = {}
    for name, dated in benefit.parameters.items():
        position = benefit.line_on(name, day)
        if position is None:
            continue
        valid_from, values = dated[position]
        ref, title, status, reason = catalogue.provenance(benefit.code, name, day) or ("", "", None, "")
        found[name] = {"valid_from": valid_from.isoformat(), "values": list(values), "ref": ref or None,
                       "title": title or None, "status": status, "reason": reason or None}
    return found


def sources_text(parameters: dict) -> str:
    """'amount: reported, shared/RULES.md; ...': where each parameter value used comes from."""
    return "; ".join(f"{name}: {p['status'] or 'source not recorded'}" + (f", {p['ref']}" if p["ref"] else "")
                     + (f" ({p['reason']})" if p["reason"] and p["status"] in ("assumption", "derived") else "")
                     for name, p in sorted(parameters.items()))


FORMULAS = {
    "flat": N_("amount"),
    "graded_flat": N_("amount_by_grade[grade]"),
    "per_child": N_("child amount (by household flags) x children counted (up to max_children)"),
    "household_table_minus_income": N_("base_by_size[members counted] - household income"),
    "equivalence_scale_minus_income": N_("base x (first adult + further adults + children, in basis points; up "
                                         "to max_members) + supplement - household income"),
    "category_sum_minus_income_capped": N_("sum of the subsistence amounts per member category (capped) - "
                                           "household income"),
    "lump_sum_instalments": N_("lump sum by birth order, then the instalments of its plan"),
    "one_off": N_("amount by birth order (or the decided amount)"),
    "maintenance_advance": N_("reference of the child's age band (- per-capita income, at least the floor, where "
                              "means-tested), while a maintenance title is in force, at most its monthly amount"),
    # issue 17
    "per_member_category": N_("adult amount per adult + child-or-disabled amount per child or disabled member"),
    "housing_cost_minus_share": N_("housing cost (register) - income x share; share = per-capita income / "
                                   "subsistence per person / 2 x coefficient"),
    "wage_replacement": N_("wage base (register) x replacement rate, at least the floor, at most the ceiling"),
    "top_up_to_ceiling": N_("ceiling - the other institution's payment"),
    "per_child_reference_minus_income": N_("per child: subsistence of its age band x multiplier of its order - "
                                           "per-capita income, at least the floor"),
    "monthly_rate_times_days": N_("monthly rate / days per month (rounded to the minor unit) x the days of the "
                                  "period (valid_from to valid_to), once, in the month the period starts"),
}


def formula_text(benefit, version: dict, members: list, parameters: dict, exponent: int) -> str:
    """The formula in words with the figures it reads (amounts in currency units, rates in %); the amount itself
    is the engine's (due_minor)."""
    counted = [m for m in members if m["counted"]]
    facts = join([N_("income {amount}", amount=format_amount(version['income_minor'], exponent)),
                  N_("grade {grade}", grade=version['grade']),
                  N_("birth order {order}", order=version['birth_order']),
                  N_("{count} members counted", count=len(counted))])
    used = join([N_("{name} {values} from {day}", name=name, values=parameter_text(name, p['values'], exponent),
                    day=p['valid_from']) for name, p in sorted(parameters.items())], "; ")
    return N_("{kind}: {formula} ({facts}; {used})", kind=benefit.kind,
              formula=FORMULAS.get(benefit.kind, benefit.kind), facts=facts, used=used)


def parameter_text(name: str, values: list, exponent: int) -> str:
    """A parameter's values in their unit (engine.catalogue.PARAM_SHAPES; a setting by its name): basis points
    as %, counts, days and years as numbers, amounts in currency units."""
    unit = PARAM_SHAPES.get(name, (0, ""))[1]
    if unit == "bp" or (not unit and name.endswith("_bp")):
        shown = [percent(v) for v in values]
    elif unit == "count" or (not unit and (name.startswith("max_") or "count" in name or "days" in name
                                          or name.endswith("_years"))):
        shown = [str(v) for v in values]
    else:
        shown = [format_amount(v, exponent) for v in values]
    return " / ".join(shown)


def right_lines(lines: pa.Table, right_id: int) -> list[dict]:
    mine = lines.filter(pc.equal(lines.column("right_id"), right_id))
    rows = mine.to_pylist()
    for row in rows:
        row["month"] = row["month"].isoformat()[:7] if isinstance(row["month"], dt.date) else row["month"]
    return rows


def payment_fates(ledger, record: store.PayrollRecord, refs: set, right_id: int) -> dict:
    """Per payment: sent (exported) or not sent yet; returned or rejected (a reconcile batch posted it back);
    re-issued (a later payroll's approval paid this right's returned money again)."""
    if not refs:
        return {}
    exported = ledger.find_batch("export", record.payroll_id) is not None or any(
        event["kind"] == "exported" for event in ledger.events(subject=record.payroll_id))
    fates = {ref: [N_("sent") if exported else N_("not sent yet")] for ref in refs}
    approve = ledger.find_batch("approve", record.payroll_id)
    if approve is None:
        return {ref: steps[0] for ref, steps in fates.items()}
    codes = {name: code for code, name in ledger.code_names("component").items()}
    wanted = np.array(sorted(refs), dtype="S35")
    returned = False
    for batch in (b for b in ledger.batches() if b.batch_id > approve.batch_id):
        cols = ledger.read_postings(batch.first_posting, batch.n_postings, batch.batch_id)
        if batch.kind == "reconcile":
            for name, fate in FATE_COMPONENTS.items():
                hit = np.isin(cols["payment_ref"], wanted) & (cols["component"] == codes[name])
                for ref in sorted({r.decode().strip() for r in cols["payment_ref"][hit].tolist()}):
                    fates[ref].append(N_("{fate} (ledger batch {batch})", fate=fate, batch=batch.batch_id))
                    returned = True
        elif batch.kind == "approve" and returned and np.any(
                (cols["right_id"] == right_id) & (cols["component"] == codes["reissue"])):
            for steps in fates.values():
                if len(steps) > 1:
                    steps.append(N_("re-issued by {payroll}", payroll=batch.source_id))
            returned = False
    for hold in holds_of(ledger, refs):
        placed = (N_("hold {hold} placed: {reason} (released since)", hold=hold["hold_id"],
                     reason=labels.reason_text(hold["reason_code"])) if hold.get("released")
                  else N_("hold {hold} placed: {reason}", hold=hold["hold_id"],
                          reason=labels.reason_text(hold["reason_code"])))
        fates[hold["payment_ref"]].append(placed)
    return {ref: i18n.join(steps) for ref, steps in fates.items()}


def holds_of(ledger, refs: set) -> list[dict]:
    """The holds reconciliation placed because of these payments (a death, a closed account), released or not."""
    with ledger.engine.connect() as conn:
        holds = store.read_holds(conn, released=True)
    return [hold for hold in holds.to_pylist() if hold["payment_ref"] in refs]


def assemble(record, catalogue, status: str, right_id: int, months: list, facts: dict, lines: list,
             fates: dict) -> dict:
    """The JSON-able explanation: months, deductions with their caps, payments with their fate, totals."""
    rules = catalogue.deductions
    deductions = [{"kind": line["component"], "name": labels.DEDUCTION_KINDS.get(line["component"], line["component"]),
                   "amount_minor": line["amount_minor"], "payment_ref": line["payment_ref"],
                   "cap": deduction_cap(rules, line["component"])}
                  for line in lines
                  if line["component"] in ("alimony", "damages", "enforcement", "recovery", "advance_recovery")]
    payments = {}
    for line in lines:
        if line["payment_ref"]:
            payment = payments.setdefault(line["payment_ref"], {"payment_ref": line["payment_ref"],
                                                                "payee_id": line["payee_id"],
                                                                "channel": line["channel"], "net_minor": 0})
            payment["net_minor"] += line["amount_minor"]
    for payment in payments.values():
        payment["fate"] = fates.get(payment["payment_ref"], N_("not sent yet"))
    return {"payroll": record.payroll_id, "period": record.period, "status": status, "right_id": right_id,
            "benefit": facts["benefit"], "benefit_name": labels.benefit_names(catalogue).get(facts["benefit"]),
            "held": facts["held"], "window_start": facts["window_start"], "currency": record.currency,
            "minor_exponent": record.minor_exponent, "catalogue_sha256": record.catalogue_sha256,
            "input_sha256": record.input_sha256, "months": months, "deductions": deductions,
            "payments": sorted(payments.values(), key=lambda p: p["payment_ref"]), "lines": lines,
            "net_minor": sum(p["net_minor"] for p in payments.values())}


def deduction_cap(rules, component: str) -> str:
    kind = {"recovery": "overpayment", "advance_recovery": "alimony"}.get(component, component)
    rule = rules.kinds.get(kind)
    if rule is None:
        return N_("no cap in the catalogue")
    if rule.cap_with_consent_bp:
        return N_("{cap} of the gross (priority {priority}), {consent} with the recipient's consent",
                  cap=percent(rule.cap_bp), priority=rule.priority, consent=percent(rule.cap_with_consent_bp))
    return N_("{cap} of the gross (priority {priority})", cap=percent(rule.cap_bp), priority=rule.priority)


def percent(basis_points: int) -> str:
    whole, rest = divmod(int(basis_points), 100)
    return f"{whole} %" if rest == 0 else f"{whole}.{rest:02d} %"
