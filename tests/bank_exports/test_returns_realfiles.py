"""Every real bank file of ../shared/realfiles through the readers: no traceback, every record found (counted
independently by XPath), enveloped messages carry their Business Application Header."""
import pytest

from bank_exports.returns import read_returns
from formats.errors import InputError

from acceptance.realfiles import FILES, NEEDS_FILES, REFUSED, expected_records, ids


@NEEDS_FILES
@pytest.mark.parametrize("path", FILES, ids=ids())
def test_every_record_of_a_real_file_is_read(path):
    if path.name in REFUSED:
        with pytest.raises(InputError) as caught:
            read_returns(path)
        assert REFUSED[path.name] in caught.value.problems[0].rule
        return
    records = read_returns(path)
    assert len(records) == expected_records(path)
    for record in records:
        assert record.line and record.source_file == path.name
        assert record.amount_minor is None or (record.amount_minor >= 0 and record.currency)


@NEEDS_FILES
def test_enveloped_real_files_keep_the_application_header():
    enveloped = [path for path in FILES if "Envelope" in path.read_text(encoding="utf-8", errors="replace")[:2000]]
    assert len(enveloped) >= 3
    for path in enveloped:
        records = read_returns(path)
        assert records, path
        assert all(r.header_sender and r.header_msg_id and r.header_created for r in records), path
