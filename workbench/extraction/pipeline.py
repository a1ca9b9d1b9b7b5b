"""Turn an article into claims: header, sentences, speakers, scores."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from .attribution import Attribution, SpeakerTracker, attribute_paragraph
from .checkworthiness import score
from .claim_types import NOT_A_CLAIM
from .context import needs_rewrite, resolving_context
from .encoder import DEFAULT_ENCODER, ENCODERS, EncoderModel, EncoderUnavailable
from .header import ArticleHeader, dateline_end, parse_header
from .model import shipped_model
from .reasons import WEIGHTS_VERSION
from .reasons import explain as reasons_in_words
from .segment import SEGMENTER_NAME, SEGMENTER_VERSION, Span, paragraphs, segment

log = logging.getLogger(__name__)

# WORKBENCH_CHECKWORTHINESS_MODEL picks the scorer: "cw-3" (the default: the fine-tuned encoder,
# encoder.py), "cw-2" (the encoder before it, trained on fewer debates) or "cw-1" (the linear
# model every claim before migration 0012 was scored with).
MODEL_SETTING = "WORKBENCH_CHECKWORTHINESS_MODEL"
MODELS = (*ENCODERS, "cw-1")


@dataclass(frozen=True)
class Scorer:
    """The check-worthiness model in use and the name each claim it scores records (scored_by)."""

    name: str
    scores: Callable[[Sequence[str]], list[float]]


@lru_cache(maxsize=len(ENCODERS))
def shipped_encoder(version: str = DEFAULT_ENCODER) -> EncoderModel:
    """Return an encoder shipped in the package, loaded once per process."""
    return EncoderModel.shipped(version)


@lru_cache(maxsize=1)
def active_scorer() -> Scorer:
    """Return the scorer this process uses, chosen once.

    If the encoder cannot be loaded (its file missing, onnxruntime absent), the
    claims are scored by cw-1 and say so: scored_by reads "cw-1 (fallback: why)"
    and the failure is logged as an error; it never happens silently.
    """
    wanted = os.environ.get(MODEL_SETTING, DEFAULT_ENCODER).strip() or DEFAULT_ENCODER
    if wanted not in MODELS:
        raise ValueError(f"{MODEL_SETTING} must be one of {', '.join(MODELS)}, not {wanted!r}")
    if wanted == "cw-1":
        return Scorer(shipped_model().version, _linear_scores)
    try:
        encoder = shipped_encoder(wanted)
    except EncoderUnavailable as exc:
        log.error("check-worthiness: the encoder model cannot be used, scoring with cw-1: %s", exc)
        return Scorer(f"{shipped_model().version} (fallback: {exc})"[:100], _linear_scores)
    return Scorer(encoder.version, encoder.scores)


def _linear_scores(texts: Sequence[str]) -> list[float]:
    model = shipped_model()
    return [model.score(t) for t in texts]


RULES_VERSION = "rules-2.0"  # 2.0: claim types on Full Fact's typology (claim_types.py)
# Stored with every claim: a change in rules, segmenter, model or reasons changes claims.
EXTRACTOR_VERSION = (
    f"{RULES_VERSION}+{SEGMENTER_NAME}-{SEGMENTER_VERSION}+{active_scorer().name.split(' ')[0]}"
    f"+{WEIGHTS_VERSION}"
)
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ExtractedClaim:
    """One sentence of the article body, as a candidate claim."""

    ordinal: int
    text: str
    start: int
    end: int
    paragraph_index: int
    speaker: str | None
    is_quote: bool
    checkworthiness: float
    checkworthy: bool
    claim_type: str
    reasons: tuple[str, ...]
    context_before: str
    paragraph: str
    # Leans on a pronoun or "this": an annotator should rewrite it standalone,
    # with resolving_context (the earlier sentence naming the referent) at hand.
    needs_rewrite: bool = False
    resolving_context: str = ""
    # The model that gave checkworthiness (Scorer.name): "cw-3", or "cw-1 (fallback: ...)".
    scored_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (reasons as a list)."""
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


def extract_claims(
    text: str, *, threshold: float = DEFAULT_THRESHOLD, include_all: bool = False
) -> list[ExtractedClaim]:
    """Return every body sentence of text as a claim, flagged by threshold.

    Low scorers are kept (checkworthy=False): the caller decides what to push.
    include_all=True also returns the header lines (headline, date, byline,
    agency) as claims of type "other" with score 0, for inspection.
    """
    header = parse_header(text)
    body_from = dateline_end(text, header)
    paras = paragraphs(text)
    by_paragraph: dict[int, list[Span]] = {}
    for span in segment(text):
        if span.end <= body_from and not include_all:
            continue
        if span.start < body_from < span.end:
            # Keep "NEW DELHI: " out of the first claim.
            span = Span(body_from, span.end, span.paragraph_index)
        by_paragraph.setdefault(span.paragraph_index, []).append(span)

    # The model scores every body sentence at once (batched by length: far faster than one by one).
    scorer = active_scorer()
    body = [text[s.start : s.end] for s in _in_order(by_paragraph) if s.end > body_from]
    values = iter(round(v, 4) for v in scorer.scores(body))

    tracker = SpeakerTracker()
    claims: list[ExtractedClaim] = []
    earlier: list[str] = []  # body sentences so far, across paragraphs
    for index, spans in sorted(by_paragraph.items()):
        p_start, p_end = paras[index]
        paragraph = text[p_start:p_end]
        local = [(s.start - p_start, s.end - p_start) for s in spans]
        following = text[paras[index + 1][0] : paras[index + 1][1]] if index + 1 < len(paras) else ""
        attributions = attribute_paragraph(paragraph, local, tracker, following)
        previous = ""
        for span, who in zip(spans, attributions, strict=True):
            sentence = text[span.start : span.end]
            claims.append(
                _claim(
                    len(claims),
                    sentence,
                    span,
                    who,
                    previous,
                    paragraph,
                    threshold,
                    earlier,
                    tracker.last,
                    is_header=span.end <= body_from,
                    value=0.0 if span.end <= body_from else next(values),
                    scored_by=scorer.name,
                )
            )
            previous = sentence
            if span.end > body_from:
                earlier.append(sentence)
    return claims


def _claim(
    ordinal: int,
    sentence: str,
    span: Span,
    who: Attribution,
    previous: str,
    paragraph: str,
    threshold: float,
    earlier: list[str],
    person: str | None,
    *,
    is_header: bool,
    value: float,
    scored_by: str,
) -> ExtractedClaim:
    rewrite, resolving = False, ""
    reasons: tuple[str, ...]
    if is_header:
        claim_type, reasons = NOT_A_CLAIM, ("header line (metadata, not a claim)",)
        speaker, is_quote = None, False
    else:
        # The model scored (value); the reasons name what a fact-checker would recognise in
        # the sentence (reasons.py), and the transparent rules name the type.
        reasons = reasons_in_words(sentence)
        claim_type = score(sentence, is_quote=who.is_quote, speaker=who.speaker, kind=span.kind).claim_type
        speaker, is_quote = who.speaker, who.is_quote
        rewrite = needs_rewrite(sentence)
        resolving = resolving_context(sentence, earlier, who.speaker or person) if rewrite else ""
    return ExtractedClaim(
        ordinal=ordinal,
        text=sentence,
        start=span.start,
        end=span.end,
        paragraph_index=span.paragraph_index,
        speaker=speaker,
        is_quote=is_quote,
        checkworthiness=value,
        checkworthy=value >= threshold,
        claim_type=claim_type,
        reasons=reasons,
        context_before=previous,
        paragraph=paragraph,
        needs_rewrite=rewrite,
        resolving_context=resolving,
        scored_by=scored_by,
    )


def _in_order(by_paragraph: dict[int, list[Span]]) -> list[Span]:
    return [s for _, spans in sorted(by_paragraph.items()) for s in spans]


__all__ = [
    "EXTRACTOR_VERSION",
    "ArticleHeader",
    "ExtractedClaim",
    "Scorer",
    "active_scorer",
    "extract_claims",
]
