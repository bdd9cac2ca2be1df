"""Find the e-invoice XML embedded in a PDF, and check any e-invoice XML is safe and an invoice before use."""

from xml.etree.ElementTree import ParseError

import defusedxml
from defusedxml.ElementTree import fromstring
from pypdf import PdfReader

from workbench.errors import InputError

# The attachment names the standards prescribe, in order of preference (compared in lower case).
EINVOICE_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")

_CII_ROOTS = ("CrossIndustryInvoice", "CrossIndustryDocument")
_UBL_ROOTS = ("Invoice", "CreditNote")
_UBL_NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:"
_UNCEFACT_NAMESPACE = "urn:un:unece:uncefact:"


def find_embedded_einvoice(reader: PdfReader, label: str) -> tuple[bytes, str] | None:
    """The bytes and name of the PDF's e-invoice attachment, or None when it carries none.

    A file with one of the standard names is taken first (whatever its root: early ZUGFeRD drafts used
    others); else any `.xml` attachment whose root element is a CII or UBL invoice. Raises InputError for
    an attachment that is unsafe XML, or for a standard name that is not well-formed.
    """
    candidates = sorted(
        (_preference(name), name, contents[0])
        for name, contents in reader.attachments.items()
        if contents and name.lower().endswith(".xml")
    )
    for preference, name, data in candidates:
        standard = preference < len(EINVOICE_NAMES)
        root = _root_tag(data, label, strict=standard, part=f"its attachment {name}: ")
        if standard or (root is not None and is_invoice_root(root)):
            return data, name
    return None


def check_einvoice_xml(data: bytes, label: str, name: str) -> None:
    """Raise InputError unless `data` is safe, well-formed XML whose root is a CII or UBL invoice."""
    root = _root_tag(data, label, strict=True)
    if root is None or not is_invoice_root(root):
        raise InputError(
            label,
            f"{name} is not an e-invoice: its root element is {root!r}; expected a UN/CEFACT CII "
            "CrossIndustryInvoice (ZUGFeRD, Factur-X, XRechnung) or a UBL Invoice or CreditNote",
        )


def is_invoice_root(tag: str) -> bool:
    """Whether an ElementTree tag ('{namespace}Local') names a CII or UBL invoice or credit note.

    An `Invoice` in a UN/CEFACT namespace is the pre-release CII schema that ZUGFeRD 1 drafts used.
    """
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    if local in _CII_ROOTS:
        return True
    return local in _UBL_ROOTS and namespace.startswith((_UBL_NAMESPACE, _UNCEFACT_NAMESPACE))


def _preference(name: str) -> int:
    lowered = name.lower()
    return EINVOICE_NAMES.index(lowered) if lowered in EINVOICE_NAMES else len(EINVOICE_NAMES)


def _root_tag(data: bytes, label: str, strict: bool, part: str = "") -> str | None:
    """The root element's tag; None for malformed XML unless `strict`. Unsafe XML always raises.

    Errors name the file `label`; `part` (e.g. "its attachment factur-x.xml: ") starts their reason.
    """
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True).tag
    except defusedxml.DefusedXmlException as error:
        raise InputError(
            label,
            f"{part}refused: the XML declares entities or a DOCTYPE, which can expand without bound or read other "
            "files; nothing was read from disk or network. Ask the sender for the invoice without a DTD",
        ) from error
    except ParseError as error:
        if strict:
            raise InputError(label, f"{part}the XML is not well-formed ({error})") from error
        return None
