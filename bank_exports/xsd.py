"""Validation of ISO 20022 files against the official XSDs shipped in bank_exports/xsd, through lxml alone (the
libxml2 it bundles: the same engine on every host).

The schema is chosen by the namespace of the file's root element; compiled schemas are cached per thread.
`assert_valid` (the writers' check of every file they write) validates the file while parsing it, without a tree,
on the writer's validation threads; `validation_errors` parses into a tree, validates it and words what is wrong.
"""
import re
import threading
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).with_name("xsd")
NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


class SchemaViolation(AssertionError):
    """A file this project wrote is not valid against its schema: a bug in the writer, never bad input."""


def known_messages() -> list[str]:
    return sorted(path.stem for path in XSD_DIR.glob("*.xsd"))


_THREAD = threading.local()
# libxml2's schema compiler is not safe to run on two threads at once (its built-in types are set up lazily: two
# validation threads compiling their first schema together failed with "The base type '(NULL)' is not a simple
# type"), so compiling is serialised; validating with the compiled schemas runs in parallel.
_COMPILE_LOCK = threading.Lock()
# ...and its built-in types are set up here, once, on the importing thread, before any validation thread exists
etree.XMLSchema(etree.XML(b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>'))


def schema_for(message: str) -> etree.XMLSchema:
    """Compiled XSD for e.g. 'pain.001.001.09', one per thread: an lxml XMLSchema keeps the error log of its last
    validation on itself, so two threads sharing one could read each other's (an invalid file seen as valid)."""
    schemas = getattr(_THREAD, "schemas", None)
    if schemas is None:
        schemas = _THREAD.schemas = {}
    if message not in schemas:
        path = XSD_DIR / f"{message}.xsd"
        assert path.exists(), f"no XSD for {message}; have {known_messages()}"
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        with _COMPILE_LOCK:
            schemas[message] = etree.XMLSchema(etree.parse(str(path), parser))
    return schemas[message]


def validation_errors(path: Path, limit: int = 20) -> list[str]:
    """Messages of every schema error (at most `limit`), empty when the file is valid."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    document = etree.parse(str(path), parser)
    namespace = etree.QName(document.getroot()).namespace or ""
    assert namespace.startswith(NAMESPACE_PREFIX), f"{path}: not an ISO 20022 namespace: {namespace!r}"
    schema = schema_for(schema_name(namespace))
    if schema.validate(document):
        return []
    errors = [f"{path.name}:{error.line}: {error.message}" for error in list(schema.error_log)[:limit]]
    return errors or [f"{path.name}: not valid against {schema_name(namespace)} (the validator gave no message)"]


def schema_name(namespace: str) -> str:
    return namespace[len(NAMESPACE_PREFIX):]


def assert_valid(path: Path) -> None:
    """SchemaViolation (with lxml's messages) unless the file is valid against the XSD of its namespace.

    The file is validated while it is parsed, without building a tree: lxml's parser with the compiled schema
    attached (libxml2's streaming validator) and a parser target that takes no events, so no element is ever
    made. That is a third less CPU than parsing into a tree and validating the tree, holds no tree in memory (a
    file of 100,000 payments made one of a few hundred MiB), and runs with the GIL released, so a writer's
    validation threads run beside the writing. The verdict is the validator's error log (a target parser does
    not raise for schema errors): any error, or a file that is not well-formed, and the file is read again into
    a tree and validated there, which words every error (or, should the two ever disagree, decides)."""
    path = Path(path)
    message = root_message(path)
    if message is not None and streaming_refuses_broken(message) and not streaming_errors(path, message):
        return
    errors = validation_errors(path)
    if errors:
        raise SchemaViolation("\n".join(errors))


class _NoTree:
    """A parser target without start/end/data methods: lxml connects no callback, so parsing builds nothing and
    the schema validator plugged into the parser sees every event."""

    def close(self) -> None:
        return None


_STREAMING_CHECKED: dict[str, bool] = {}


def streaming_refuses_broken(message: str) -> bool:
    """Whether validation while parsing reports a broken document of `message` (checked once per message and
    process, on a document whose root holds an unknown element): should a version of lxml ever stop reporting
    schema errors to a target parser's log, assert_valid validates trees instead of passing files unchecked."""
    if message not in _STREAMING_CHECKED:
        broken = f'<Document xmlns="{NAMESPACE_PREFIX}{message}"><Unknown/></Document>'.encode()
        _STREAMING_CHECKED[message] = bool(streaming_errors(broken, message))
    return _STREAMING_CHECKED[message]


def streaming_errors(source, message: str) -> list[str]:
    """Errors of `source` (a path or bytes) validated against `message`'s XSD while it is parsed, without a tree
    (empty: valid); a file that is not well-formed counts as one error."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
                             collect_ids=False, target=_NoTree(), schema=schema_for(message))
    try:
        if isinstance(source, bytes):
            etree.fromstring(source, parser)
        else:
            etree.parse(str(source), parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    return [error.message for error in parser.error_log if error.level >= etree.ErrorLevels.ERROR]


_ROOT_NAMESPACE = re.compile(rb"<Document\s+xmlns=\"" + re.escape(NAMESPACE_PREFIX.encode()) + rb"([a-z0-9.]+)\"")


def root_message(path: Path) -> str | None:
    """The message of a file whose root element comes first, e.g. 'pain.001.001.09' (None when not found in
    the head of the file: lxml then reads the root itself)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    found = _ROOT_NAMESPACE.search(head)
    if found is None or head[:found.start()].count(b"<") > 1:  # only the XML declaration may come before
        return None
    message = found.group(1).decode("ascii")
    return message if (XSD_DIR / f"{message}.xsd").exists() else None
