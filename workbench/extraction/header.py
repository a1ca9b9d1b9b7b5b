"""Recognise the metadata lines above an article body, and its dateline.

Scraped articles start with lines that are not claims: a headline, a date
(often glued to a byline, " date 2023-12-28 Yeshi Seli By"), an agency
("Express News Service") and, at the start of the first body paragraph, a
dateline ("NEW DELHI: "). We read paragraphs from the top while they look
like metadata; the first one that does not is where the body starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .segment import paragraphs, segment

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ]
    )
    for m in names.split()
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?"
_DATE_PATTERNS = [
    re.compile(r"\b(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})\b"),
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}})\b", re.I),
]
# Words that may surround a date on a date line without making it prose.
_DATE_NOISE = re.compile(
    rf"\b(?:{_WEEKDAY}|date[d:]?|updated:?|published:?|posted:?|last|modified:?|on|at|"
    r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?|[ap]m|ist|gmt|utc|[A-Z]{2,4}T)(?=\W|$)",
    re.I,
)
_NAME = r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,4}"
_BYLINE = re.compile(rf"^\s*(?:by\s+(?P<a>{_NAME})|(?P<b>{_NAME})\s+by)\s*[|,.]?\s*$", re.I)
_AGENCY = re.compile(
    r"\b(?:news\s+service|news\s+desk|desk|bureau|agency|press|reuters|afp|ap|pti|ians|ani|"
    r"associated\s+press|staff\s+reporter|correspondent|newswire|wire\s+service|"
    r"online\s+desk)\b",
    re.I,
)
# "NEW DELHI:", "WASHINGTON (Reuters) -", "LONDON, Dec 28 (PTI):", or in
# mixed case only before a dash: "Taipei, Taiwan — ". No "^": match() with a
# start position anchors there, "^" would not.
_DATELINE = re.compile(
    r"(?:(?P<place>[A-Z][A-Z'.\-]+(?:[ ][A-Z][A-Z'.\-]+){0,3})"
    r"(?:,\s*[A-Z][A-Za-z.]+(?:\s+\d{1,2})?(?:,\s*\d{4})?)?"
    r"(?:\s*\((?P<agency>[^()\n]{1,40})\))?"
    r"\s*(?::|[-\u2013\u2014]{1,2})"
    r"|(?P<mixed>[A-Z][a-z]+(?:[ ][A-Z][a-z]+)?,[ ][A-Z][a-z]+(?:[ ][A-Z][a-z]+)?)"
    r"[ ]?[\u2013\u2014])"
    r"[ \t\u00a0]+(?=\S)"
)
_MAX_HEADER_PARAGRAPHS = 6


@dataclass(frozen=True)
class ArticleHeader:
    """Metadata found above the body; body_start is where claims may begin."""

    title: str | None
    byline: str | None
    published: str | None  # ISO date
    dateline: str | None
    agency: str | None
    body_start: int


def find_date(line: str) -> tuple[str, re.Match[str]] | None:
    """Return (ISO date, match) for the first date written in line."""
    for pattern in _DATE_PATTERNS:
        m = pattern.search(line)
        if not m:
            continue
        groups = m.groupdict()
        month = int(groups["mon"]) if groups.get("mon") else _MONTHS[groups["month"].lower()]
        day, year = int(groups["day"]), int(groups["year"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"{year:04d}-{month:02d}-{day:02d}", m
    return None


def _byline(line: str) -> str | None:
    m = _BYLINE.match(line)
    return (m.group("a") or m.group("b")).strip() if m else None


def _date_line(line: str) -> tuple[str, str | None] | None:
    """Return (ISO date, byline or None) when line is a date line."""
    if len(line.split()) > 15:
        return None
    found = find_date(line)
    if not found:
        return None
    iso, m = found
    rest = _DATE_NOISE.sub(" ", line[: m.start()] + " " + line[m.end() :])
    rest = re.sub(r"[\s,|:\-\u2013\u2014]+", " ", rest).strip()
    if not rest:
        return iso, None
    byline = _byline(rest)
    return (iso, byline) if byline else None


def _is_agency(line: str) -> bool:
    return len(line.split()) <= 6 and not line.rstrip().endswith(".") and bool(_AGENCY.search(line))


def _is_title(line: str, is_last: bool) -> bool:
    # A headline is one short sentence with no final full stop, followed by more.
    return (
        not is_last
        and "\n" not in line
        and len(line) <= 250
        and len(line.split()) <= 30
        and not line.rstrip("\"'”’)]»").endswith((".", ":", ";", ","))
        and len(segment(line)) == 1
    )


def parse_header(text: str) -> ArticleHeader:
    """Read the metadata paragraphs at the top of text and the dateline."""
    fields: dict[str, str | None] = dict.fromkeys(("title", "byline", "published", "dateline", "agency"))
    paras = paragraphs(text)
    body = len(paras)
    for i, (start, end) in enumerate(paras[:_MAX_HEADER_PARAGRAPHS]):
        line = text[start:end]
        dated = _date_line(line)
        if dated and not fields["published"]:
            fields["published"] = dated[0]
            fields["byline"] = fields["byline"] or dated[1]
        elif _byline(line) and not fields["byline"]:
            fields["byline"] = _byline(line)
        elif _is_agency(line) and not fields["agency"]:
            fields["agency"] = line.strip()
        elif i == 0 and _is_title(line, is_last=len(paras) == 1):
            fields["title"] = line.strip()
        else:
            body = i
            break
    if body == len(paras):
        # Everything looked like metadata: trust the text over the guess
        # and keep the last paragraph as body rather than returning nothing.
        body = max(len(paras) - 1, 0) if len(paras) > 1 else 0
    body_start = paras[body][0] if paras else len(text)
    if paras:
        m = _DATELINE.match(text, body_start, paras[body][1])
        if m:
            fields["dateline"] = (m.group("place") or m.group("mixed")).strip()
            fields["agency"] = fields["agency"] or (m.group("agency") or None)
    return ArticleHeader(body_start=body_start, **fields)


def dateline_end(text: str, header: ArticleHeader) -> int:
    """Return the offset just past the dateline, or body_start without one."""
    if header.dateline is None:
        return header.body_start
    m = _DATELINE.match(text, header.body_start)
    return m.end() if m else header.body_start
