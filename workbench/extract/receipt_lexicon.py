"""Text knowledge for merchant names and addresses: known merchants and a word list that corrects OCR slips.

Two pieces, both learned from labelled receipts (the SROIE training labels for the shipped model) and
stored inside the model file:

- `KnownMerchants`: the exact printed names and addresses of merchants seen before. An OCR reading that is
  nearly identical to a known name (one or two characters off) is replaced by the known spelling.
- `Lexicon`: word counts of names and addresses. A word the OCR read that is not in the list, but is one
  OCR-typical slip (a glyph the recogniser confuses with another: I/L/1, O/0/D, S/5, B/8 ...) away from
  exactly one frequent word (JALAN, TAMAN, WORLD, city and state names), is corrected. Other differences
  are left alone: "BORONG" and "JALAL" are names of their own, not misread "LORONG" and "JALAN".

A known spelling replaces a reading only when the two differ by what OCR does, not by what distinguishes
two branches of one chain: their house numbers and postcodes (digits) must nearly agree (`plausible_snap`).
"""

import re
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from workbench.extract.features import KEYWORDS, confusable, fold, normalise

_WORD = re.compile(r"[A-Z0-9]+")
_AS_LETTERS = {"0": "OD", "1": "IL", "5": "S", "8": "B", "6": "G", "2": "Z", "4": "A", "7": "T"}
_AS_DIGIT = str.maketrans({"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"})


def _digits(text: str) -> str:
    """The digits of a text, reading letters inside number tokens as the digits they resemble ("4115O")."""
    tokens = _WORD.findall(fold(text))
    return "".join(
        "".join(c for c in (t.translate(_AS_DIGIT) if 2 * sum(ch.isdigit() for ch in t) > len(t) else t) if c.isdigit())
        for t in tokens
    )


def plausible_snap(reading: str, known: str) -> bool:
    """Whether `known` may replace `reading`: their digits (house numbers, postcodes, branch codes) agree but
    for two misread or lost digits; branches of one chain differ by whole numbers."""
    return Levenshtein.distance(_digits(reading), _digits(known)) <= 2


_CONFUSABLE_DIGITS = frozenset(frozenset(pair) for pair in ("38", "56", "68", "08", "17", "06", "09", "35"))


def digit_slip(reading: str, known: str) -> bool:
    """Whether the digits of `reading` are those of `known` with some misread as look-alikes (3/8, 5/6, 1/7 ...)
    or one of them lost."""
    a, b = _digits(reading), _digits(known)
    if len(a) + 1 == len(b):
        return any(b[:i] + b[i + 1:] == a for i in range(len(b)))
    return a != b and len(a) == len(b) and all(x == y or frozenset((x, y)) in _CONFUSABLE_DIGITS for x, y in zip(a, b))


_BUILTIN_WORDS = [
    w
    for name in ("company_word", "address_word")
    for w in re.findall(r"[A-Z]{3,}", KEYWORDS[name].pattern.replace("\\", ""))
]
_BUILTIN_SET = frozenset(_BUILTIN_WORDS)


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
    min_count: int = 2

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
        """`word` (upper case), or the one frequent word that a few confusable glyphs away from it reads as.

        Words of five letters or more take a single confusable substitution ("WORID" → "WORLD"); shorter
        words only towards a builtin address or company word ("JIN" → "JLN"); digits inside a word may be
        letters the OCR misread ("MA11" → "MALL", "J1N" → "JLN") when the word so read is a frequent one.
        """
        if self.words.get(word, 0) > 0 or not word.isascii() or not any(c.isalpha() for c in word) or len(word) < 3:
            return word
        if any(c.isdigit() for c in word):
            return self._digits_as_letters(word)
        # Short words are often names ("WAH", "HENG"): they are corrected only towards the builtin address and
        # company words (JLN, TMN, LOT, SDN, BHD).
        pool = self.words.items() if len(word) >= 5 else ((w, self.words.get(w, 0)) for w in _BUILTIN_SET)
        # Substitutions only: a dropped or added letter is as often a real, unseen name ("LANGE" is no "LANE").
        options = [
            w for w, n in pool
            if n >= self.min_count and len(w) == len(word) and Levenshtein.distance(w, word) == 1
            and confusable(w, word)
        ]
        if len(options) != 1:
            return word
        return options[0]

    def _digits_as_letters(self, word: str) -> str:
        if sum(c.isdigit() for c in word) > 2 or sum(c.isalpha() for c in word) < 2:
            return word
        readings = [""]
        for c in word:
            readings = [r + letter for r in readings for letter in _AS_LETTERS.get(c, c)]
        known = [(self.words.get(r, 0), r) for r in readings if self.words.get(r, 0) >= self.min_count]
        return max(known)[1] if known else word

    def unknown_words(self, text: str) -> int:
        """How many words of `text` (with a letter, three characters or more) the list has not seen often."""
        return sum(1 for w in _WORD.findall(fold(text))
                   if len(w) >= 3 and any(c.isalpha() for c in w) and self.words.get(w, 0) < self.min_count)

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
        return cls(Counter(data.get("words", {})), int(data.get("min_count", 2)))
