"""The remittance text of each payment: what the money is, in the country's language — the benefit name(s) of
the catalogue and the month ("Materijalno obezbjeđenje za 09/2024"; "... за 09/2024"). The payment file's writer
transliterates it to the file's character set and cuts it at a word boundary within 140 characters (the EPC /
ISO limit). Built at export from two dictionary-coded columns of the payroll's lines, column-wise."""
import pyarrow as pa
import pyarrow.compute as pc

from engine.months import month_first_date, parse_period
from payroll import store

FOR_MONTH = {"me": "za", "rs": "za", "ua": "за"}  # "for <month>" in the catalogue country's language


def remittance_column(record: store.PayrollRecord, catalogue, end_to_end_ids) -> pa.Array:
    """One text per payment, in the order of end_to_end_ids: its benefits' names, then 'za MM/YYYY'."""
    month = month_first_date(parse_period(record.period)).strftime("%m/%Y")
    tail = f" {FOR_MONTH.get(catalogue.country.lower(), 'za')} {month}"
    # row groups of a large lines file carry their own dictionaries: one dictionary per column to group by
    lines = store.read_lines(record, columns=["payment_ref", "benefit"], coded=True).unify_dictionaries()
    pairs = lines.group_by(["payment_ref", "benefit"], use_threads=False).aggregate([])
    codes = pa.array([benefit.code for benefit in catalogue.benefits], pa.string())
    names = pa.array([benefit.name for benefit in catalogue.benefits], pa.string())
    benefit = pc.cast(pairs["benefit"], pa.string())
    name = pc.coalesce(pc.take(names, pc.index_in(benefit, value_set=codes)), benefit)
    grouped = pa.table({"payment_ref": pc.cast(pairs["payment_ref"], pa.string()), "name": name}) \
        .group_by("payment_ref", use_threads=False).aggregate([("name", "list")])
    texts = pc.binary_join_element_wise(pc.binary_join(grouped["name_list"], ", "), tail, "")
    position = pc.index_in(pc.cast(end_to_end_ids, pa.string()), value_set=grouped["payment_ref"])
    return pc.fill_null(pc.take(texts, position), f"{record.payroll_id}{tail}")
