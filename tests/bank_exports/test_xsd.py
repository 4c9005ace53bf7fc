"""assert_valid: lxml validates while parsing (the libxml2 lxml bundles, on every host); validation_errors words
the errors, and both refuse the same broken files."""
from pathlib import Path

import pytest
from lxml import etree

from bank_exports import xsd
from bank_exports.pain001 import write_pain001
from synthetic.payments import synthetic_payments


@pytest.fixture
def written(tmp_path, debtor, options) -> list[Path]:
    result = write_pain001(synthetic_payments(300, seed=2), tmp_path / "files", debtor, options)
    return [tmp_path / "files" / file.name for file in result.files]


def _broken(path: Path, tmp_path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert old in data
    broken = tmp_path / f"broken-{path.name}"
    broken.write_bytes(data.replace(old, new, 1))
    return broken


def test_valid_files_pass_and_broken_ones_are_refused_with_lxml_words(written, tmp_path):
    for path in written:
        assert xsd.root_message(path) == "pain.001.001.09"
        xsd.assert_valid(path)
    bank = next(p for p in written if "-B" in p.name)
    for old, new, words in ((b"<BICFI>", b"<BICFI>x", "BICFI"), (b"<EndToEndId>", b"<EndToEndId>" + b"9" * 40,
                                                                "EndToEndId"),
                            (b"<Cdtr>", b"<Cdtr><Unknown/>", "Unknown")):
        with pytest.raises(xsd.SchemaViolation, match=words):
            xsd.assert_valid(_broken(bank, tmp_path, old, new))
    with pytest.raises(etree.XMLSyntaxError):
        truncated = tmp_path / "truncated.xml"
        truncated.write_bytes(bank.read_bytes()[:5_000])
        xsd.assert_valid(truncated)


def test_validation_while_parsing_agrees_with_validation_errors_and_unknown_heads_are_read_whole(written, tmp_path):
    for path in written:
        assert xsd.validation_errors(path) == []
    broken = _broken(written[0], tmp_path, b"<NbOfTxs>", b"<NbOfTxs>x")
    assert xsd.validation_errors(broken)
    with pytest.raises(xsd.SchemaViolation, match="NbOfTxs"):
        xsd.assert_valid(broken)
    commented = tmp_path / "commented.xml"  # something before the root: the head is not trusted
    commented.write_bytes(b"<!-- x --><?pi?>" + written[0].read_bytes().split(b"\n", 1)[1])
    assert xsd.root_message(commented) is None
    xsd.assert_valid(commented)


def test_lxml_validation_on_threads_never_loses_an_invalid_file(written, tmp_path):
    """Export validates on two threads; each thread has its own compiled schema, so one thread's validation cannot
    empty the error log another thread is about to read (which made an invalid file pass)."""
    from concurrent.futures import ThreadPoolExecutor

    bank = next(p for p in written if "-B" in p.name)
    broken = _broken(bank, tmp_path, b"<EndToEndId>", b"<EndToEndId>" + b"9" * 40)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(xsd.validation_errors, [broken, bank] * 60))
        verdicts = list(pool.map(_refused, [broken, bank] * 60))
    assert all(results[0::2]) and not any(results[1::2])
    assert all(verdicts[0::2]) and not any(verdicts[1::2])


def _refused(path: Path) -> bool:
    try:
        xsd.assert_valid(path)
    except xsd.SchemaViolation:
        return True
    return False


def test_no_system_library_is_loaded():
    """lxml alone: the module reaches no libxml2 through ctypes (whose version differs from lxml's)."""
    source = Path(xsd.__file__).read_text()
    assert "ctypes" not in source and "CDLL" not in source


@pytest.mark.parametrize("old, new", [(b"<BICFI>", b"<BICFI>x"), (b"<EndToEndId>", b"<EndToEndId>" + b"9" * 40),
                                      (b"<Cdtr>", b"<Cdtr><Unknown/>"), (b"<NbOfTxs>", b"<NbOfTxs>x"),
                                      (b"<IBAN>ME", b"<IBAN>me"), (b'Ccy="EUR">', b'Ccy="EUR">1.234'),
                                      (b"<PmtMtd>TRF</PmtMtd>", b""), (b"<BtchBookg>true", b"<BtchBookg>maybe"),
                                      (b'Ccy="EUR"', b'Ccy="EURO"'), (b"</Nm></Cdtr>", b"</Nm><Nm>x</Nm></Cdtr>")])
def test_validation_while_parsing_refuses_what_the_tree_refuses(written, tmp_path, old, new):
    """assert_valid's verdict comes from the validator plugged into a tree-less parser: every kind of break the
    tree validation finds, it finds too (and the file is then read again for the words)."""
    assert xsd.streaming_refuses_broken("pain.001.001.09"), "this lxml reports no schema errors to a target parser"
    bank = next(p for p in written if "-B" in p.name)
    assert xsd.streaming_errors(bank, "pain.001.001.09") == [] and xsd.validation_errors(bank) == []
    broken = _broken(bank, tmp_path, old, new)
    assert xsd.streaming_errors(broken, "pain.001.001.09") and xsd.validation_errors(broken)
    with pytest.raises(xsd.SchemaViolation):
        xsd.assert_valid(broken)


def test_a_validator_that_stops_reporting_falls_back_to_the_tree(written, tmp_path, monkeypatch):
    bank = next(p for p in written if "-B" in p.name)
    broken = _broken(bank, tmp_path, b"<BICFI>", b"<BICFI>x")
    monkeypatch.setattr(xsd, "streaming_errors", lambda source, message: [])  # an lxml that reports nothing
    monkeypatch.setattr(xsd, "_STREAMING_CHECKED", {})
    with pytest.raises(xsd.SchemaViolation, match="BICFI"):
        xsd.assert_valid(broken)
