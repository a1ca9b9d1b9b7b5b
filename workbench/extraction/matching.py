"""Link a new claim to one already verified that says the same thing.

Pure functions, no database: the caller passes the known claims as
(key, text) pairs and gets, for each new text, the keys that match with a
score. Similarity is the mean of two TF-IDF cosines (content words, and
character 3- to 5-grams, which survive inflection and small rewordings),
then two vetoes fact-checkers care about: the numbers must agree ("4.1
percent" is not "5 percent") and so must negation ("rose" is not "did not
rise"); names that differ halve the score. Candidates come from an inverted index
(find_matches, a few thousand known claims) or from the database's search index
(rerank, any number), so a new claim is compared only with a few known claims.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

#: Chosen on the STS Benchmark's dev split, news pairs (bench/real_paraphrases.py --split dev):
#: F1 0.39 at 0.5, 0.64 at 0.4, 0.77 at 0.3; 0.3 links different sentences of the samples to each
#: other (bench/extraction.py), 0.4 does not. WORKBENCH_MATCH_THRESHOLD overrides it.
DEFAULT_THRESHOLD = 0.4
# Different names ("Lukaku won the award" vs "Harry Kane won the award"):
# usually a different claim, though a rewrite may name someone differently.
ENTITY_PENALTY = 0.5
_MAX_CANDIDATES = 200

_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " ", "–": "-", "—": "-"})
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "dozen": "12",
}  # fmt: skip
_SCALES = {"thousand": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion|mn|bn|m)\b)?")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_NEGATIONS = {"not", "no", "never", "none", "nor", "neither", "nobody", "nothing", "without"}
_STOP = set(
    """a an the of to in on at for by with from and or but as is are was were be been being it its this that
    these those he she they his her their them him we our us i my you your has have had do does did will
    would shall should can could may might must than then there here which who whom whose what when where
    why how also just so such very into over about after before said says say told according added that's
    per""".split()
)
_SYNONYMS = {
    "percent": "percent", "pc": "percent", "%": "percent",
    "rise": "increase", "rose": "increase", "risen": "increase", "grew": "increase", "grow": "increase",
    "increased": "increase", "increases": "increase", "rising": "increase", "climbed": "increase",
    "fell": "decrease", "fall": "decrease", "fallen": "decrease", "dropped": "decrease", "drop": "decrease",
    "declined": "decrease", "decreased": "decrease", "decline": "decrease",
    "stated": "say", "announced": "say", "claimed": "say", "declared": "say",
    "around": "about", "approximately": "about", "roughly": "about", "nearly": "almost",
    "over": "more", "above": "more", "exceeding": "more", "under": "less", "below": "less",
    "people": "people", "persons": "people", "individuals": "people",
    "government": "government", "administration": "government",
    "nation": "country", "countries": "country", "nations": "country",
    "kids": "children", "youngsters": "children",
    "shows": "show", "showed": "show", "indicates": "show", "indicated": "show", "suggests": "show",
    "big": "large", "huge": "large", "biggest": "largest",
}  # fmt: skip


def normalise(text: str) -> str:
    """Return text in a canonical form: lower case, plain quotes, "5%" as "5 percent", no "1,300"."""
    t = text.translate(_QUOTES).lower()
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    t = re.sub(r"(\d)\s*%", r"\1 percent", t)
    t = re.sub(r"\bper\s?cent\b", "percent", t)
    t = re.sub(r"\bu\.s\.a?\.?(?=\W|$)", "us", t)
    t = re.sub(r"n't\b", " not", t)
    t = re.sub(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", lambda m: _NUMBER_WORDS[m.group(1)], t)
    t = re.sub(r"[^\w\s.%$€£]|(?<!\d)\.|\.(?!\d)", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def numbers(normalised: str) -> frozenset[float]:
    """Return the quantities in a normalised text ("5 million" -> 5e6)."""
    out = set()
    for value, scale in _NUMBER.findall(normalised):
        out.add(round(float(value) * _SCALES.get(scale, 1.0), 6))
    return frozenset(out)


def _negations(normalised: str) -> int:
    return sum(1 for w in normalised.split() if w in _NEGATIONS)


def _stem(word: str) -> str:
    word = _SYNONYMS.get(word, word)
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def term(word: str) -> str:
    """Return the key under which a lower-case word is counted in :class:`Frequencies`."""
    return _stem(word)


def _words(normalised: str) -> list[str]:
    return [_stem(w) for w in _TOKEN.findall(normalised) if w not in _STOP]


def _chars(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        padded = f" {w} "
        for n in (3, 4, 5):
            out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+")
_RAW_WORD = re.compile(r"[\w'’-]+")


def names(text: str) -> frozenset[str]:
    """Return the capitalised words of text that are not function words, lower-cased."""
    return frozenset(
        w for w in (m.group(0).lower() for m in _CAPITALISED.finditer(text)) if w not in _STOP | _STARTERS
    )


_STARTERS = {"on", "in", "at", "after", "before", "during", "since", "while", "however", "meanwhile", "image"}


class _Doc:
    __slots__ = ("words", "chars", "numbers", "negations", "names", "tokens")

    def __init__(self, text: str):
        self.names = names(text)
        norm = normalise(text)
        self.tokens = frozenset(_RAW_WORD.findall(text.lower()))
        self.words = Counter(_words(norm))
        self.chars = Counter(_chars(list(self.words)))
        self.numbers = numbers(norm)
        self.negations = _negations(norm)


class Frequencies:
    """Document frequencies of words and character n-grams over a set of known claims.

    ``docs`` is how many claims the counts stand for: a sample of a large archive counts
    each sampled claim ``docs / sampled`` times, so the IDF estimated from it stays close
    to the archive's own without reading the archive.
    """

    __slots__ = ("docs", "sampled", "words", "chars")

    def __init__(self, docs: int, sampled: int, words: Counter[str], chars: Counter[str]):
        self.docs = docs
        self.sampled = sampled
        self.words = words
        self.chars = chars


def frequencies(texts: Sequence[str], docs: int | None = None) -> Frequencies:
    """Count the documents each term of texts appears in; docs is the size of the whole set."""
    return _frequencies([_Doc(t) for t in texts], docs)


def _frequencies(parsed: Sequence[_Doc], docs: int | None = None) -> Frequencies:
    words: Counter[str] = Counter()
    chars: Counter[str] = Counter()
    for d in parsed:
        words.update(d.words.keys())
        chars.update(d.chars.keys())
    return Frequencies(len(parsed) if docs is None else max(docs, len(parsed)), len(parsed), words, chars)


class _Idf:
    """IDF of a term over the known claims (as counted by a background) plus the new texts."""

    __slots__ = ("background", "new", "docs", "scale", "cache")

    def __init__(self, background: Counter[str], new: Counter[str], frequencies: Frequencies, extra: int):
        self.background = background
        self.new = new
        self.scale = frequencies.docs / frequencies.sampled if frequencies.sampled else 1.0
        self.docs = frequencies.docs + extra
        self.cache: dict[str, float] = {}

    def __call__(self, term: str) -> float:
        value = self.cache.get(term)
        if value is None:
            df = self.background.get(term, 0) * self.scale + self.new.get(term, 0)
            value = self.cache[term] = math.log((1 + self.docs) / (1 + df)) + 1.0
        return value


def _vector(counts: Counter[str], idf: _Idf) -> dict[str, float]:
    vec = {t: (1.0 + math.log(c)) * idf(t) for t, c in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {t: v / norm for t, v in vec.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _idfs(new_docs: Sequence[_Doc], background: Frequencies) -> tuple[_Idf, _Idf]:
    new = _frequencies(new_docs)
    return (
        _Idf(background.words, new.words, background, len(new_docs)),
        _Idf(background.chars, new.chars, background, len(new_docs)),
    )


def similarity(a: str, b: str) -> float:
    """Return how much a and b say the same thing, in [0, 1] (IDF from the pair only)."""
    if not (a.strip() and b.strip()):
        return 0.0
    found = find_matches([a], [(0, b)], threshold=0.0)[0]
    return found[0][1] if found else 0.0  # none: vetoed (different numbers or negations)


def _combine(word_cos: float, char_cos: float, new: _Doc, old: _Doc) -> float:
    if new.numbers != old.numbers:
        return 0.0  # different (or missing) quantities: a different claim
    if new.negations != old.negations:
        return 0.0  # "rose" is not "did not rise"
    value = 0.5 * word_cos + 0.5 * char_cos
    # A name counts as missing only if the other text lacks the word in any
    # case: "Exports doubled" starts a sentence, "in 2021 exports doubled" not.
    if not (new.names <= old.tokens and old.names <= new.tokens):
        value *= ENTITY_PENALTY
    return value


def find_matches(
    new_texts: Sequence[str],
    known: Sequence[tuple[Hashable, str]],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    top_k: int = 3,
) -> list[list[tuple[Hashable, float]]]:
    """Return, for each new text, up to top_k (key, score) of known claims scoring at least threshold.

    Every known claim is read: for a few thousand at most. An archive is searched by the
    database's index and the few candidates it returns are scored with :func:`rerank`.
    """
    new_docs = [_Doc(t) for t in new_texts]
    old_docs = [_Doc(t) for _, t in known]
    word_idf, _ = _idfs(new_docs, _frequencies(old_docs))
    index: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(old_docs):
        for w in d.words:
            index[w].append(i)
    candidates = []
    for d in new_docs:
        # Candidates: known claims sharing a word, rarest words first.
        hits: Counter[int] = Counter()
        for w in sorted(d.words, key=lambda w: -word_idf(w)):
            for i in index.get(w, ()):
                hits[i] += 1
        candidates.append([i for i, _ in hits.most_common(_MAX_CANDIDATES)])
    keys = [k for k, _ in known]
    return _score(new_docs, old_docs, keys, candidates, _frequencies(old_docs), threshold, top_k)


def rerank(
    new_texts: Sequence[str],
    candidates: Sequence[Sequence[tuple[K, str]]],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    background: Frequencies | None = None,
    top_k: int = 3,
) -> list[list[tuple[K, float]]]:
    """Score each new text against its own candidates only (found by a search index).

    background: the document frequencies of the archive the candidates come from (or of a
    sample of it); without one, the candidates themselves are the archive.
    """
    keys: list[K] = []
    texts: list[str] = []
    position: dict[K, int] = {}
    lists = []
    for found in candidates:
        mine = []
        for key, text in found:
            if key not in position:
                position[key] = len(keys)
                keys.append(key)
                texts.append(text)
            mine.append(position[key])
        lists.append(mine)
    old_docs = [_Doc(t) for t in texts]
    new_docs = [_Doc(t) for t in new_texts]
    freq = _frequencies(old_docs) if background is None else background
    return _score(new_docs, old_docs, keys, lists, freq, threshold, top_k)


def _score(
    new_docs: Sequence[_Doc],
    old_docs: Sequence[_Doc],
    keys: Sequence[K],
    candidates: Sequence[Sequence[int]],
    background: Frequencies,
    threshold: float,
    top_k: int,
) -> list[list[tuple[K, float]]]:
    word_idf, char_idf = _idfs(new_docs, background)
    old_vecs: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
    out: list[list[tuple[K, float]]] = []
    for d, mine in zip(new_docs, candidates, strict=True):
        words = _vector(d.words, word_idf)
        chars = _vector(d.chars, char_idf)
        scored = []
        for i in mine:
            old = old_docs[i]
            if d.numbers != old.numbers or d.negations != old.negations:
                continue  # vetoed by _combine whatever the cosines: skip the vectors
            if i not in old_vecs:
                old_vecs[i] = (_vector(old_docs[i].words, word_idf), _vector(old_docs[i].chars, char_idf))
            value = _combine(_cosine(words, old_vecs[i][0]), _cosine(chars, old_vecs[i][1]), d, old_docs[i])
            if value > 0 and value >= threshold:
                scored.append((keys[i], round(value, 4)))
        scored.sort(key=lambda x: -x[1])
        out.append(scored[:top_k])
    return out
