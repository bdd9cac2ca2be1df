"""Text knowledge for merchant names and addresses: known merchants and a word list that corrects OCR slips.

Two pieces, both learned from labelled receipts (the SROIE training labels for the shipped model) and
stored inside the model file:

- `KnownMerchants`: the exact printed names and addresses of merchants seen before. An OCR reading that is
  nearly identical to a known name (one or two characters off) is replaced by the known spelling.
- `Lexicon`: word counts of names and addresses. A word the OCR read that is not in the list, but is one
  edit away from exactly one frequent word (JALAN, TAMAN, SDN, BHD, city and state names), is corrected.
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from workbench.extract.features import KEYWORDS, fold, normalise

_WORD = re.compile(r"[A-Z0-9]+")
_BUILTIN_WORDS = [
    w
    for name in ("company_word", "address_word")
    for w in re.findall(r"[A-Z]{3,}", KEYWORDS[name].pattern.replace("\\", ""))
]


@dataclass
class KnownMerchants:
    """Verbatim names and addresses seen in labelled receipts, with how often each was seen."""

    names: Counter[str] = field(default_factory=Counter)
    addresses: Counter[str] = field(default_factory=Counter)
    _keys: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)

    def _choices(self, kind: str) -> dict[str, str]:
        counter = self.names if kind == "name" else self.addresses
        cached = self._keys.get(kind)
        if cached is None or cached.keys() != counter.keys():
            cached = {key: normalise(key) for key in counter}
            self._keys[kind] = cached
        return cached

    def add(self, name: str | None, address: str | None) -> None:
        if name and normalise(name):
            self.names[name] += 1
        if address and normalise(address):
            self.addresses[address] += 1

    def remove(self, name: str | None, address: str | None) -> None:
        """Forget one sighting (used to describe a training receipt as if it had not been seen)."""
        for counter, key in ((self.names, name), (self.addresses, address)):
            if key and counter.get(key, 0) > 0:
                counter[key] -= 1
                if counter[key] == 0:
                    del counter[key]

    def match(self, text: str, kind: str) -> tuple[str | None, float]:
        """The known name (kind "name") or address ("address") closest to `text`, and its similarity 0–1."""
        choices = self._choices(kind)
        wanted = normalise(text)
        if not choices or not wanted:
            return None, 0.0
        best = process.extractOne(wanted, choices, scorer=fuzz.ratio)
        if best is None:
            return None, 0.0
        return best[2], best[1] / 100.0

    def evidence(self, text: str, kind: str) -> tuple[float, int]:
        """How close the second-closest known entry is (0–1), and how often the closest was seen."""
        choices = self._choices(kind)
        wanted = normalise(text)
        if not choices or not wanted:
            return 0.0, 0
        found = process.extract(wanted, choices, scorer=fuzz.ratio, limit=2)
        counter = self.names if kind == "name" else self.addresses
        second = found[1][1] / 100.0 if len(found) > 1 else 0.0
        return second, counter.get(found[0][2], 0)

    def to_json(self) -> dict:
        return {"names": dict(self.names), "addresses": dict(self.addresses)}

    @classmethod
    def from_json(cls, data: dict) -> "KnownMerchants":
        return cls(Counter(data.get("names", {})), Counter(data.get("addresses", {})))


@dataclass
class Lexicon:
    """Word counts of merchant names and addresses, used to correct single-character OCR slips."""

    words: Counter[str] = field(default_factory=Counter)
    min_count: int = 3

    @classmethod
    def with_builtins(cls) -> "Lexicon":
        lexicon = cls()
        for word in _BUILTIN_WORDS:
            lexicon.words[word] += lexicon.min_count
        return lexicon

    def add_text(self, text: str | None, weight: int = 1) -> None:
        for word in _WORD.findall(fold(text or "")):
            self.words[word] += weight

    def remove_text(self, text: str | None) -> None:
        for word in _WORD.findall(fold(text or "")):
            if self.words.get(word, 0) > 0:
                self.words[word] -= 1

    def correct_word(self, word: str) -> str:
        """`word` (upper case) or the one frequent word a single edit away from it."""
        if len(word) < 5 or self.words.get(word, 0) > 0 or not word.isascii() or not any(c.isalpha() for c in word):
            return word
        # Substitutions only: a dropped or added letter is as often a real, unseen name ("LANGE" is no "LANE").
        options = [
            w for w, n in self.words.items()
            if n >= self.min_count and len(w) == len(word) and Levenshtein.distance(w, word) == 1
        ]
        if len(options) != 1:
            return word
        return options[0]

    def correct(self, text: str) -> tuple[str, int]:
        """`text` with its words corrected in place (other characters kept), and the number of changes."""
        changes = 0

        def repl(match: re.Match[str]) -> str:
            nonlocal changes
            word = match.group(0)
            if not word.isascii():
                return word
            fixed = self.correct_word(word.upper())
            if fixed == word.upper():
                return word
            changes += 1
            return fixed

        return re.sub(r"\w+", repl, text), changes

    def to_json(self) -> dict:
        return {"words": {w: n for w, n in self.words.items() if n > 0}, "min_count": self.min_count}

    @classmethod
    def from_json(cls, data: dict) -> "Lexicon":
        return cls(Counter(data.get("words", {})), int(data.get("min_count", 3)))
