"""What corrections teach: a merchant name a person corrected, recalled for later receipts of that merchant.

A receipt is recognised by keys read from it: its phone number, its tax id, and the header text the OCR
read as the merchant name (`merchant_keys`). When a person corrects the merchant name, the caller (the
review service) stores one `MerchantFact` per key; `apply_memory` gives a later receipt with a matching
key the corrected name, origin "learned", and a confidence earned by how often the name was confirmed
and never contradicted (Laplace's rule: (confirmed + 1) / (confirmed + contradicted + 2)).
Keeping the facts (in the database, visible and undoable) is the caller's job; this module is pure.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from schemas import Extracted, Receipt
from workbench.extract.features import normalise


@dataclass(frozen=True)
class MerchantFact:
    """A corrected merchant name known under one key, with how often it was confirmed or contradicted."""

    key: str
    name: str
    confirmed: int = 1
    contradicted: int = 0

    @property
    def confidence(self) -> float:
        return (self.confirmed + 1) / (self.confirmed + self.contradicted + 2)


def merchant_keys(receipt: Receipt) -> list[str]:
    """Keys that recognise a receipt's merchant: "phone:<digits>", "tax:<id>", "head:<normalised name read>".

    The head key uses the value read from the page (the source text), so a corrected value still maps
    back to what the OCR will read next time.
    """
    keys = []
    phone = re.sub(r"\D", "", str(receipt.merchant_phone.value or ""))
    if len(phone) >= 7:
        keys.append(f"phone:{phone}")
    tax = normalise(str(receipt.merchant_tax_id.value or ""))
    if len(tax) >= 6:
        keys.append(f"tax:{tax}")
    name = receipt.merchant_name
    head = normalise(name.source.text if name.source and name.source.text else str(name.value or ""))
    if len(head) >= 4:
        keys.append(f"head:{head}")
    return keys


def apply_memory(receipt: Receipt, facts: Mapping[str, MerchantFact]) -> Receipt:
    """The receipt with its merchant name taken from the best-earned fact matching one of its keys."""
    known = [facts[key] for key in merchant_keys(receipt) if key in facts]
    if not known:
        return receipt
    best = max(known, key=lambda fact: (fact.confidence, fact.confirmed))
    if best.confidence <= receipt.merchant_name.confidence and normalise(best.name) != normalise(
        str(receipt.merchant_name.value or "")
    ):
        return receipt
    learned = Extracted(value=best.name, confidence=round(best.confidence, 4), source=receipt.merchant_name.source,
                        origin="learned")
    return receipt.model_copy(update={"merchant_name": learned})
