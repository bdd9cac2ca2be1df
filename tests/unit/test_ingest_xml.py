"""Ingest of standalone e-invoice XML: accepted without pages, refused when unsafe, malformed or no invoice."""

from pathlib import Path

import pytest

from workbench.config import Settings
from workbench.errors import InputError
from workbench.ingest import load_bytes, load_path

CII = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice '
       b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"><rsm:ExchangedDocument/>'
       b"</rsm:CrossIndustryInvoice>")
UBL_CREDIT = b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"><ID>9</ID></CreditNote>'
ZUGFERD_1 = b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&lol9;
</rsm:CrossIndustryInvoice>"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "db.sqlite")


@pytest.mark.parametrize("xml", [CII, UBL_CREDIT, ZUGFERD_1])
def test_einvoice_xml_loads_without_pages(xml: bytes, settings: Settings) -> None:
    document = load_bytes(xml, "inbox/INV-7.XML", settings)
    assert document.pages == []
    assert document.xml == xml and document.xml_name == "INV-7.XML"
    assert document.media_type == "application/xml"


def test_external_entity_is_refused_and_nothing_is_read(tmp_path: Path, settings: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
           "<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'>&x;</Invoice>").encode()
    opened: list[str] = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda file, *a, **k: opened.append(str(file)) or real_open(file, *a, **k))
    with pytest.raises(InputError, match="refused: the XML declares entities") as caught:
        load_bytes(xml, "invoice.xml", settings)
    assert "TOP-SECRET" not in caught.value.user_message
    assert str(secret) not in opened


def test_entity_expansion_bomb_is_refused(tmp_path: Path, settings: Settings) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    with pytest.raises(InputError, match="refused: the XML declares entities"):
        load_path(bomb, settings)


def test_doctype_alone_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match="refused"):
        load_bytes(b'<!DOCTYPE Invoice SYSTEM "http://example.com/x.dtd">' + UBL_CREDIT, "x.xml", settings)


def test_malformed_xml_is_refused(settings: Settings) -> None:
    with pytest.raises(InputError, match="not well-formed"):
        load_bytes(b"<Invoice><ID>1</Invoice>", "x.xml", settings)


def test_xml_that_is_no_invoice_is_refused_naming_its_root(settings: Settings) -> None:
    with pytest.raises(InputError, match="not an e-invoice: its root element is 'order'"):
        load_bytes(b"<order><id>1</id></order>", "order.xml", settings)
    with pytest.raises(InputError, match="not an e-invoice"):
        load_bytes(b'<Invoice xmlns="urn:example:not-ubl"/>', "other.xml", settings)
