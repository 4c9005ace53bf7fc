"""The pain.001.001.09 file a sepaxml user would write for the same payments: one SepaTransfer in batch mode,
names cleaned by sepaxml (unidecode), amounts as integer cents, and export(validate=False) because sepaxml's
own xmlschema validation refuses documents above 1,000,000 elements; the comparison validates the result with
lxml against the project's XSD instead, as it does isplata's files. Needs the optional `bench` extra."""
import os

from sepaxml import SepaTransfer


def as_lists(payments) -> tuple[list, ...]:
    """The columns as Python lists, the form a sepaxml user starts from (built before the clock starts)."""
    return (payments.name.tolist(), payments.iban.tolist(), payments.remittance.tolist(),
            payments.end_to_end_id.tolist(), payments.amount_minor.tolist())


def write_sepaxml(payments, out_dir: str, lists: tuple[list, ...] | None = None) -> list[str]:
    """Writes one file with every payment; returns its path (a list, like isplata's writer)."""
    config = {"name": payments.debtor_name, "IBAN": payments.debtor_iban, "BIC": payments.debtor_bic,
              "batch": True, "currency": payments.currency}
    sepa = SepaTransfer(config, schema="pain.001.001.09", clean=True)
    names, ibans, texts, ids, amounts = lists or as_lists(payments)
    for index in range(payments.count):  # sepaxml takes one dict per payment (and edits it): no bulk API
        sepa.add_payment({"name": names[index], "IBAN": ibans[index], "BIC": payments.bic,
                          "amount": amounts[index], "execution_date": payments.execution_date,
                          "description": texts[index], "endtoend_id": ids[index]})
    path = os.path.join(out_dir, "sepaxml-pain001.xml")
    with open(path, "wb") as handle:
        handle.write(sepa.export(validate=False))
    return [path]
