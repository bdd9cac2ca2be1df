"""Account codes for bookkeeping exports: the remembered mapping per merchant, else per category; tax codes per rate."""

from dataclasses import dataclass
from decimal import Decimal

from workbench.duplicates import name_key, supplier_name
from workbench.store import Mapping, Store, StoredDocument

ANY_CATEGORY = "*"
"""The category key that applies to every document no narrower rule covers."""


def rate_key(layout: str, rate: Decimal) -> str:
    """The key of a rate mapping: the layout and the rate in percent without trailing zeros (`datev:19`)."""
    return f"{layout}:{rate.normalize():f}"


@dataclass(frozen=True)
class Account:
    """Where a document is booked: expense account, tax code, and the contra (creditor or cash) account."""

    account_code: str | None = None
    tax_code: str | None = None
    contra_account: str | None = None


class AccountMap:
    """Finds a document's accounts: its merchant's mapping, else its category's (doc type), else `*`'s.

    Merchant keys are compared as `duplicates.name_key` reduces names, so "Acme Sdn. Bhd." and
    "ACME SDN BHD" share one mapping. Each field falls back separately to the broader rule.
    """

    def __init__(self, mappings: list[Mapping]) -> None:
        self._merchants = {name_key(m.key): m for m in mappings if m.kind == "merchant" and name_key(m.key)}
        self._categories = {m.key: m for m in mappings if m.kind == "category"}
        self._rates = {m.key: m.tax_code for m in mappings if m.kind == "rate" and m.tax_code}

    @classmethod
    def from_store(cls, store: Store) -> "AccountMap":
        """The mapping remembered in the store."""
        return cls(store.mappings())

    def for_document(self, stored: StoredDocument) -> Account:
        """The accounts to book `stored` on (fields left None when no rule gives them)."""
        rules: list[Mapping] = []
        if stored.current is not None:
            merchant = self._merchants.get(name_key(supplier_name(stored.current)))
            if merchant is not None:
                rules.append(merchant)
        for key in (stored.doc_type, ANY_CATEGORY):
            if key in self._categories:
                rules.append(self._categories[key])

        def first(attribute: str) -> str | None:
            return next((getattr(rule, attribute) for rule in rules if getattr(rule, attribute)), None)

        return Account(first("account_code"), first("tax_code"), first("contra_account"))

    def tax_code_for_rate(self, layout: str, rate: Decimal) -> str | None:
        """The tax code remembered for one tax rate in one layout (a DATEV BU-Schlüssel, a Xero tax rate name)."""
        return self._rates.get(rate_key(layout, rate))
