"""Fixtures of the bank_exports tests. Every ISO 20022 file a test writes into `out_dir` is validated against its
XSD when the test ends: an invalid file fails the suite even if the test itself forgot to check."""
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from bank_exports.pain001 import Pain001Options
from bank_exports.payments import Debtor
from bank_exports.xsd import NAMESPACE_PREFIX, validation_errors

CREATED_AT = datetime(2026, 5, 28, 10, 30, 0)
EXECUTION_DATE = date(2026, 6, 1)


def iso_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*.xml")):
        root = etree.parse(str(path), etree.XMLParser(huge_tree=True, resolve_entities=False)).getroot()
        if (etree.QName(root).namespace or "").startswith(NAMESPACE_PREFIX):
            found.append(path)
    return found


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    yield folder
    errors = [error for path in iso_files(folder) for error in validation_errors(path)]
    assert not errors, "files written by the test are not XSD-valid:\n" + "\n".join(errors)


@pytest.fixture
def debtor():
    return Debtor("Ministarstvo rada i socijalnog staranja", "ME25505000012345678951", "CKBCMEPG")


@pytest.fixture
def options():
    return Pain001Options(msg_id_prefix="ME-202605-R1", currency="EUR", created_at=CREATED_AT,
                          execution_date=EXECUTION_DATE)
