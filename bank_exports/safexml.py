"""Safe parsing of XML that comes from outside: no DTD, no entities, no network, clear errors with file and line.

A document type declaration is refused before the parser sees the file (it is the only way to declare entities,
so this stops entity bombs and external entities at the door), and the parser is configured not to load DTDs,
resolve entities or touch the network anyway. `iterate` yields the elements named, as they end, so a file of
any size is read in constant memory.
"""
import codecs
from pathlib import Path

from lxml import etree

from formats.errors import InputError, Problem

PROLOG_BYTES_MAX = 65_536
PULL_CHUNK_BYTES = 1 << 16  # small chunks: entries are walked while still in the CPU cache (faster than 1 MB)


def refusal(path: Path, line: int | None, rule: str, fix: str) -> InputError:
    return InputError([Problem(str(path), line, None, None, rule, fix)])


def _decoded_prolog(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def check_prolog(path: Path) -> None:
    """Refuse a file whose prolog (before the root element) declares a DOCTYPE or ENTITY, or is absurdly long."""
    with open(path, "rb") as handle:
        head = handle.read(PROLOG_BYTES_MAX)
    if not head.strip():
        raise refusal(path, None, "the file is empty", "ask the bank to send the file again")
    text = _decoded_prolog(head)
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0:
            raise refusal(path, None, f"no root element in the first {PROLOG_BYTES_MAX} bytes",
                          "this is not an ISO 20022 XML file")
        if text.startswith("<!DOCTYPE", start) or text.startswith("<!ENTITY", start):
            line = text.count("\n", 0, start) + 1
            raise refusal(path, line, "DOCTYPE / ENTITY declarations are not accepted (protection against XML "
                          "bombs and external entities)", "bank files never need a DOCTYPE; ask for a clean file")
        if text.startswith("<?", start) or text.startswith("<!--", start):
            end = text.find("?>" if text[start + 1] == "?" else "-->", start)
            if end < 0:
                raise refusal(path, None, "prolog does not end", "this is not a well-formed XML file")
            position = end + 2
            continue
        return


def _parser_options() -> dict:
    """No entities, DTDs or network; libxml2's size and depth limits on (huge_tree off); no table of ID
    attributes (nothing here looks elements up by ID, and a hostile file cannot grow one)."""
    return dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, collect_ids=False,
                remove_comments=True, remove_pis=True)


def iterate(path: Path, local_names: tuple[str, ...], keep_nested: tuple[str, ...] = ()):
    """Yield (element, local name) for each element of the given local names, in document order, at its end.

    After the caller's loop moves on, the element is cleared and its earlier processed siblings of the same name
    are removed, so memory stays flat on files of any size; an element named in keep_nested and nested in
    another yielded element is left whole for the outer one.
    """
    check_prolog(path)
    tags = [f"{{*}}{name}" for name in local_names]
    locals_by_tag: dict[str, str] = {}
    first = True
    try:
        for _event, element in etree.iterparse(str(path), events=("end",), tag=tags, **_parser_options()):
            if first:
                _refuse_doctype(path, element)
                first = False
            tag = element.tag
            name = locals_by_tag.get(tag) or locals_by_tag.setdefault(tag, etree.QName(tag).localname)
            yield element, name
            parent = element.getparent()
            if name in keep_nested and parent is not None and etree.QName(parent).localname in local_names:
                continue
            element.clear(keep_tail=False)
            previous = element.getprevious()
            while previous is not None and previous.tag == tag:  # processed siblings: drop them
                parent.remove(previous)
                previous = element.getprevious()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise refusal(path, line, f"malformed XML: {exc.msg}", "ask the bank to send the file again") from exc


def pull(path: Path, local_names: tuple[str, ...], chunk_bytes: int = PULL_CHUNK_BYTES, *,
         events: tuple[str, ...] = ("start", "end")):
    """Feed the file to a pull parser chunk by chunk; yield (event, element, local name) for the given events
    ("start" | "end") of elements of the given names, ("chunk", None, None) after each chunk, when the caller may
    use and remove the complete children of an open element (all but its last), and at the end ("eof", root
    element, None), when the whole tree that was not removed is complete. No Python runs for the elements in
    between (and asking for "start" events only spares the parser a test at every end tag)."""
    check_prolog(path)
    parser = etree.XMLPullParser(events=events, tag=[f"{{*}}{name}" for name in local_names], **_parser_options())
    first = True
    try:
        offset = 0
        while True:
            chunk = _read_chunk(path, offset, chunk_bytes)
            offset += len(chunk)
            if chunk:
                parser.feed(chunk)
            else:
                root = parser.close()
            for event, element in parser.read_events():
                if first:
                    _refuse_doctype(path, element)
                    first = False
                yield event, element, etree.QName(element).localname
            if not chunk:
                if first:
                    _refuse_doctype(path, root)
                yield "eof", root, None
                return
            yield "chunk", None, None
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise refusal(path, line, f"malformed XML: {exc.msg}", "ask the bank to send the file again") from exc


def _read_chunk(path: Path, offset: int, size: int) -> bytes:
    """Bytes [offset, offset + size) of the file, which is open only while they are read: a reader abandoned
    between chunks (a refusal raised by its caller, a loop left early) never leaves a file open behind it."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def _refuse_doctype(path: Path, element) -> None:
    info = element.getroottree().docinfo
    if info.internalDTD is not None or info.doctype:
        raise refusal(path, element.sourceline, "DOCTYPE declared", "ask for a file without DOCTYPE")


ENVELOPE_EVENTS_MAX = 10_000  # start tags read before a message element must have been found


def _header_value(element, name: str) -> str | None:
    """Text of the AppHdr child of that local name; for Fr, the first text below it (e.g. FIId/FinInstnId/BICFI)."""
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            for text in child.itertext():
                if text.strip():
                    return " ".join(text.split())
    return None


def root_of(path: Path) -> tuple[str, str, str, tuple]:
    """(namespace of the Document, 'Document', message element local name, header) of an ISO 20022 file.

    A plain file starts <Document><message>. An enveloped one (SWIFT <Envelope>, <FPEnvelope>, or any element
    holding an AppHdr and a Document side by side) is read up to its Document's message element; header is
    (AppHdr/Fr, AppHdr/BizMsgIdr, AppHdr/CreDt) of the Business Application Header before it, (None,)*3 when there
    is none. A root that is neither is returned as (namespace, root, first child, header) for the caller to refuse."""
    check_prolog(path)
    names, header, document = [], (None, None, None), None
    try:
        with open(path, "rb") as handle:  # closed on every way out (an early return too)
            for event, element in etree.iterparse(handle, events=("start", "end"), **_parser_options()):
                if not isinstance(element.tag, str):
                    continue
                name = etree.QName(element)
                if event == "end":
                    if name.localname == "AppHdr":
                        header = tuple(_header_value(element, key) for key in ("Fr", "BizMsgIdr", "CreDt"))
                    continue
                names.append(name)
                if document is not None:
                    return document.namespace or "", "Document", name.localname, header
                if name.localname == "Document":
                    document = name
                elif len(names) == 2 and names[0].localname not in ("Envelope", "FPEnvelope") \
                        and name.localname != "AppHdr":
                    return names[0].namespace or "", names[0].localname, name.localname, header
                if len(names) > ENVELOPE_EVENTS_MAX:
                    break
    except etree.XMLSyntaxError as exc:
        raise refusal(path, exc.lineno or None, f"malformed XML: {exc.msg}",
                      "ask the bank to send the file again") from exc
    if len(names) < 2:
        raise refusal(path, 1, "the document has no message element", "this is not an ISO 20022 message")
    return names[0].namespace or "", names[0].localname, names[1].localname, header
