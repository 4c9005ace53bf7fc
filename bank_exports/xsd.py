"""Validation of ISO 20022 files against the official XSDs shipped in bank_exports/xsd.

The schema is chosen by the namespace of the file's root element; compiled schemas are cached per process.
"""
from functools import lru_cache
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).with_name("xsd")
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


class SchemaViolation(AssertionError):
    """A file this project wrote is not valid against its schema: a bug in the writer, never bad input."""


def known_messages() -> list[str]:
    return sorted(path.stem for path in XSD_DIR.glob("*.xsd"))


@lru_cache(maxsize=None)
def schema_for(message: str) -> etree.XMLSchema:
    """Compiled XSD for e.g. 'pain.001.001.09'."""
    path = XSD_DIR / f"{message}.xsd"
    assert path.exists(), f"no XSD for {message}; have {known_messages()}"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validation_errors(path: Path, limit: int = 20) -> list[str]:
    """Messages of every schema error (at most `limit`), empty when the file is valid."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    document = etree.parse(str(path), parser)
    namespace = etree.QName(document.getroot()).namespace or ""
    assert namespace.startswith(NAMESPACE_PREFIX), f"{path}: not an ISO 20022 namespace: {namespace!r}"
    schema = schema_for(namespace[len(NAMESPACE_PREFIX):])
    if schema.validate(document):
        return []
    return [f"{path.name}:{error.line}: {error.message}" for error in list(schema.error_log)[:limit]]


def assert_valid(path: Path) -> None:
    errors = validation_errors(Path(path))
    if errors:
        raise SchemaViolation("\n".join(errors))
