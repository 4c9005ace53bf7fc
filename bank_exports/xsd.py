"""Validation of ISO 20022 files against the official XSDs shipped in bank_exports/xsd.

The schema is chosen by the namespace of the file's root element; compiled schemas are cached per process.
`assert_valid` (the writers' check of every file they write) validates while streaming the file through
libxml2's SAX validator (xmlSchemaValidateFile, the same engine lxml wraps, reached through ctypes): no tree is
built, so a 100,000-payment file costs a third less CPU and a few MB instead of ~400 MB, and the call runs
without the GIL. Where the system has no libxml2, or a file fails, lxml validates it and words the errors.
"""
import ctypes
import ctypes.util
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
    """SchemaViolation (with lxml's messages) unless the file is valid against the XSD of its namespace."""
    path = Path(path)
    message = root_message(path)
    streaming = _Streaming.get()
    if message is not None and streaming is not None and streaming.valid(path, message):
        return
    errors = validation_errors(path)  # the reference check; it also words what is wrong
    if errors:
        raise SchemaViolation("\n".join(errors))


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


class _Streaming:
    """libxml2's streaming XSD validation through ctypes: schemas compiled once per process (compiled schemas may
    be shared between threads), a validation context per call, freed after it."""

    _instance = None
    _lock = threading.Lock()
    _ERROR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)

    @classmethod
    def get(cls) -> "_Streaming | None":
        with cls._lock:
            if cls._instance is None:
                try:
                    cls._instance = cls(ctypes.CDLL(ctypes.util.find_library("xml2") or "libxml2.so.2"))
                except (OSError, AttributeError):
                    cls._instance = False  # no system libxml2: lxml validates
            return cls._instance or None

    def __init__(self, lib):
        lib.xmlInitParser()
        for name, result, arguments in (
                ("xmlSchemaNewParserCtxt", ctypes.c_void_p, [ctypes.c_char_p]),
                ("xmlSchemaParse", ctypes.c_void_p, [ctypes.c_void_p]),
                ("xmlSchemaFreeParserCtxt", None, [ctypes.c_void_p]),
                ("xmlSchemaNewValidCtxt", ctypes.c_void_p, [ctypes.c_void_p]),
                ("xmlSchemaFreeValidCtxt", None, [ctypes.c_void_p]),
                ("xmlSchemaSetValidStructuredErrors", None, [ctypes.c_void_p, self._ERROR, ctypes.c_void_p]),
                ("xmlSchemaSetParserStructuredErrors", None, [ctypes.c_void_p, self._ERROR, ctypes.c_void_p]),
                ("xmlSetStructuredErrorFunc", None, [ctypes.c_void_p, self._ERROR]),
                ("xmlSchemaValidateFile", ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int])):
            function = getattr(lib, name)
            function.restype, function.argtypes = result, arguments
        self._lib, self._schemas = lib, {}
        self._quiet = self._ERROR(lambda _context, _error: None)  # errors are worded by lxml, not printed

    def _schema(self, message: str):
        with self._lock:
            if message not in self._schemas:
                parser = self._lib.xmlSchemaNewParserCtxt(str(XSD_DIR / f"{message}.xsd").encode())
                self._lib.xmlSchemaSetParserStructuredErrors(parser, self._quiet, None)
                self._schemas[message] = self._lib.xmlSchemaParse(parser)
                self._lib.xmlSchemaFreeParserCtxt(parser)
            return self._schemas[message]

    def valid(self, path: Path, message: str) -> bool:
        schema = self._schema(message)
        if not schema:
            return False
        self._lib.xmlSetStructuredErrorFunc(None, self._quiet)  # this thread's parser errors: not printed
        context = self._lib.xmlSchemaNewValidCtxt(schema)  # per call (cheap next to a file): nothing outlives it
        if not context:
            return False
        try:
            self._lib.xmlSchemaSetValidStructuredErrors(context, self._quiet, None)
            return self._lib.xmlSchemaValidateFile(context, str(path).encode(), 0) == 0
        finally:
            self._lib.xmlSchemaFreeValidCtxt(context)
