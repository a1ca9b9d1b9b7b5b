"""Find quotations and who said them, sentence by sentence.

A quote region runs from an opening to a closing quote mark (curly, straight
or guillemets) inside one paragraph; an unclosed one runs to the paragraph
end, as news style continues quotes across paragraphs. The speaker is named
right after the region ("…,” Putin said", "said Lavrov, who …") or right
before it ("Smith said: “…"). Pronouns and titles without a name ("he
added", "the minister said") resolve to the most recent named speaker.
Sentences outside quotes get a speaker only for clear reported speech
("Earlier, Jaishankar had said that …", "According to X, …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OPENERS = {"\u201c": "\u201d", "\u00ab": "\u00bb", "\u201e": "\u201d", '"': '"'}
_VERBS = (
    r"said|says|added|adds|told|tells|stated|states|explained|explains|noted|notes|"
    r"continued|asked|asks|replied|wrote|writes|remarked|insisted|argued|argues|claimed|"
    r"claims|warned|warns|commented|declared|announced|recalled|observed|stressed|"
    r"emphasi[sz]ed|concluded|admitted|acknowledged|tweeted|responded|confirmed|denied|"
    r"revealed|maintained|predicted|estimated|believes|believed|thinks|reported"
)
_WORD = r"[A-Z][\w'’.\-]*"
_RUN = rf"{_WORD}(?:\s+{_WORD})*"
_PRONOUN = r"he|she|they|He|She|They"
_DESCRIPTOR = r"(?:the|The)\s+(?:[\w'’\-]+\s+){0,3}?[\w'’\-]+"
_ADVERBS = r"(?:(?:also|had|has|have|later|earlier|then|further|again|once|previously)\s+)*"
_SUBJECT = rf"(?P<name>{_RUN}|{_PRONOUN}|{_DESCRIPTOR})"

# After a closing quote: ",” Putin said" / "” he added" / "” said Lavrov, who".
_AFTER_NAME_FIRST = re.compile(rf"\s*[,;]?\s*{_SUBJECT}\s+{_ADVERBS}(?:{_VERBS})\b")
_AFTER_VERB_FIRST = re.compile(rf"\s*[,;]?\s*(?:{_VERBS})\s+(?P<name>{_RUN}|{_PRONOUN}|{_DESCRIPTOR})")
# Before an opening quote: "Smith said: “" / "According to Smith, “".
_BEFORE = re.compile(
    rf"(?:(?P<name>{_RUN}|{_PRONOUN})\s+{_ADVERBS}(?:{_VERBS})(?:\s+[\w'’]+){{0,3}}?"
    rf"|[Aa]ccording to\s+(?:[\w'’\-]+\s+)*?(?P<name2>{_RUN}))\s*[:,]\s*$"
)
# Reported speech in a sentence of the reporter's own.
_REPORTED = re.compile(rf"^(?:[^\"“”,]{{0,120}}?,\s+)?{_SUBJECT},?\s+{_ADVERBS}(?:{_VERBS})\b")
_ACCORDING = re.compile(rf"^[Aa]ccording to\s+(?:[^,]*?\s+)?(?P<name>{_RUN}),")
_TRAILING = re.compile(rf",\s+(?:{_SUBJECT}\s+(?:{_VERBS})|(?:{_VERBS})\s+(?P<name2>{_RUN}))[^\"“”]*[.!]?$")

_TITLES = set(
    """president vice prime minister ministers secretary dr dr. mr mr. mrs mrs. ms ms.
    prof prof. professor sir dame general gen gen. chief spokesperson spokesman
    spokeswoman ambassador senator sen sen. governor gov gov. mayor ceo cfo director
    chairman chairwoman chair head king queen prince princess pope judge justice officer
    commissioner leader coach captain inspector superintendent rep rep. representative
    mp eam minister's president's chancellor premier official
    master manager editor analyst economist lawyer researcher scientist founder owner deputy
    assistant lieutenant colonel major sergeant detective constable bishop rabbi imam cardinal""".split()
)
# "External Affairs Minister Dr S Jaishankar", "President Vladimir Putin".
_TITLED = re.compile(
    r"\b(?:Minister|President|Secretary|Ambassador|Senator|Governor|Mayor|Chancellor|Premier|"
    r"Spokesperson|Spokesman|Spokeswoman|Dr|Mr|Mrs|Ms|Prof|Professor|General|Judge|Chief|Director|"
    r"Commissioner|Undersecretary|Captain|Coach)\.?(?:\s+[A-Z](?:\.|[\w'’\-]*)){1,3}"
)
_NON_NAMES = {"The", "A", "An", "This", "That", "It", "We", "I", "You", "There", "But", "And"}


def clean_name(run: str) -> str | None:
    """Strip titles and initials: "External Affairs Minister Dr S Jaishankar" → "Jaishankar"."""
    tokens = [t.strip(".,;:") for t in run.split()]
    tokens = [re.sub(r"['’]s$", "", t) for t in tokens if t]
    last_title = max((i for i, t in enumerate(tokens) if t.lower() in _TITLES), default=-1)
    rest = [t for t in tokens[last_title + 1 :] if t not in _NON_NAMES]
    names = [t for t in rest if len(t) > 1] or rest
    return " ".join(names) or None


@dataclass
class SpeakerTracker:
    """Remember named speakers across an article, for pronouns and surnames."""

    last: str | None = None
    known: list[str] = field(default_factory=list)
    open_quote_speaker: str | None = None

    def observe(self, sentence: str) -> None:
        """Remember a titled person named in the reporter's own words.

        "Finance Minister Ola Berg presented the budget. … She said …":
        the pronoun means Berg even though Berg had not spoken yet.
        """
        # The first titled name is usually the subject: "President Putin
        # invited Prime Minister Modi. He also spoke …" means Putin.
        m = _TITLED.search(sentence)
        name = clean_name(m.group(0)) if m else None
        if name:
            self.last = name

    def resolve(self, raw: str | None) -> str | None:
        """Turn a raw subject (name, pronoun, descriptor) into a speaker."""
        if raw is None:
            return None
        raw = raw.strip()
        if re.fullmatch(_PRONOUN, raw):
            return self.last
        descriptor = re.fullmatch(_DESCRIPTOR, raw) is not None
        name = None if descriptor else clean_name(raw)
        if name is None:
            # "the minister", "The Russian President": someone already named.
            head = raw.split()[-1].lower()
            if head in _TITLES and self.last:
                return self.last
            return raw if descriptor else None
        # "Putin" after "Vladimir Putin": keep one spelling per person.
        for known in self.known:
            if known == name or known.endswith(" " + name):
                name = known
                break
        else:
            self.known.append(name)
        self.last = name
        return name


@dataclass(frozen=True)
class QuoteRegion:
    """A quotation: paragraph[start:end] including its marks."""

    start: int
    end: int
    closed: bool
    raw_speaker: str | None


@dataclass(frozen=True)
class Attribution:
    speaker: str | None
    is_quote: bool


def quote_regions(paragraph: str) -> list[QuoteRegion]:
    """Return the speech quotations of a paragraph (scare quotes left out)."""
    regions = []
    i, n = 0, len(paragraph)
    while i < n:
        closer = _OPENERS.get(paragraph[i])
        if closer is None:
            i += 1
            continue
        j = paragraph.find(closer, i + 1)
        closed = j != -1
        end = j + 1 if closed else n
        region = QuoteRegion(i, end, closed, _raw_speaker(paragraph, i, end))
        if _is_speech(paragraph, region):
            regions.append(region)
        i = end
    return regions


def _raw_speaker(paragraph: str, start: int, end: int) -> str | None:
    after = paragraph[end : end + 160]
    for pattern in (_AFTER_VERB_FIRST, _AFTER_NAME_FIRST):
        m = pattern.match(after)
        if m:
            return m.group("name")
    m = _BEFORE.search(paragraph[max(0, start - 200) : start])
    if m:
        return m.group("name") or m.group("name2")
    return None


def _is_speech(paragraph: str, region: QuoteRegion) -> bool:
    # Scare quotes ("for “courageous achievement” on Tuesday") are short,
    # unattributed and carry no punctuation of their own.
    inner = paragraph[region.start + 1 : region.end - (1 if region.closed else 0)].strip()
    if region.raw_speaker is not None or not region.closed:
        return True
    return len(inner.split()) >= 5 or inner[-1:] in {".", ",", "!", "?", "…"}


def reported_speaker(sentence: str) -> str | None:
    """Return the raw subject of "X said (that) …" style sentences."""
    for pattern in (_ACCORDING, _REPORTED, _TRAILING):
        m = pattern.search(sentence)
        if m:
            return m.groupdict().get("name") or m.groupdict().get("name2")
    return None


def attribute_paragraph(
    paragraph: str,
    sentences: list[tuple[int, int]],
    tracker: SpeakerTracker,
    next_paragraph: str = "",
) -> list[Attribution]:
    """Attribute each (start, end) sentence of paragraph, in reading order.

    next_paragraph lets a quote left open at the paragraph end take the
    speaker named where it continues (news style reopens the quote mark).
    """
    regions = quote_regions(paragraph)
    if regions and not regions[-1].closed and regions[-1].raw_speaker is None:
        following = quote_regions(next_paragraph)
        if following and following[0].start == 0:
            last = regions[-1]
            regions[-1] = QuoteRegion(last.start, last.end, False, following[0].raw_speaker)
    speakers: dict[int, str | None] = {}
    out = []
    for s_start, s_end in sentences:
        region = _region_of(regions, s_start, s_end)
        if region is None:
            sentence = paragraph[s_start:s_end]
            speaker = tracker.resolve(reported_speaker(sentence))
            out.append(Attribution(speaker, False))
            if speaker is None:
                tracker.observe(sentence)
            continue
        key = regions.index(region)
        if key not in speakers:
            # Resolve once, at the quote's first sentence, so "he added" at
            # its end means whoever was speaking before the quote began.
            speaker = tracker.resolve(region.raw_speaker)
            if speaker is None and key == 0 and region.start == 0:
                speaker = tracker.open_quote_speaker  # quote continued from above
            speakers[key] = speaker
        out.append(Attribution(speakers[key], True))
    last_open = regions[-1] if regions and not regions[-1].closed else None
    tracker.open_quote_speaker = speakers.get(len(regions) - 1) if last_open else None
    return out


def _region_of(regions: list[QuoteRegion], start: int, end: int) -> QuoteRegion | None:
    """Return the region a sentence belongs to: it starts, ends or mostly lies in it."""
    for region in regions:
        if region.start <= start < region.end or region.start < end <= region.end:
            return region
        overlap = min(end, region.end) - max(start, region.start)
        if overlap > 0 and overlap * 2 >= end - start:
            return region
    return None
