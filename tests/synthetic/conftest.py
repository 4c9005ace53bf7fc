"""Fixtures of the synthetic tests: every ISO 20022 file a test writes into `out_dir` is validated against its XSD
when the test ends (the bank files the demo plays back must be ones a real reader accepts)."""
import pytest

from bank_exports.xsd import validation_errors


@pytest.fixture
def out_dir(tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    yield folder
    errors = [error for path in sorted(folder.rglob("*.xml")) for error in validation_errors(path)]
    assert not errors, "files written by the test are not XSD-valid:\n" + "\n".join(errors)
