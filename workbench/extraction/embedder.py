"""Sentence embeddings for claim matching: all-MiniLM-L6-v2 run with onnxruntime.

A model directory holds model.onnx (the encoder with mean pooling and L2
normalisation inside the graph, so its rows are unit vectors and a dot product
is their cosine; int8 weights), tokenizer.json (its WordPiece tokenizer, read
by the `tokenizers` package) and meta.json (format, version, max_length,
dimensions, and the cosines the file gave on fixed pairs when it was made).
embedder_training.export makes the directory (PyTorch there only); here, no
PyTorch. One ships in the package (extraction/model/embedder/, used by
workbench.matching.embeddings); WORKBENCH_EMBEDDER_DIR names another.

bench/embedding_matching.py chose the mix on the STS Benchmark (`.venv/bin/python
bench/embedding_matching.py --embedder DIR`): scoring the matcher's candidates
with 0.25 x the TF-IDF score + 0.75 x the cosine (the number and negation
vetoes kept), linked at 0.7 (both chosen on the dev split's news pairs), gave
on the test split's news pairs precision 0.906, recall 0.664, F1 0.766, against
0.900, 0.466, 0.614 for the TF-IDF matcher at 0.4, and kept the rule-made
pairs of bench/paraphrases.py at 1.00 / 1.00 with no link between different
sentences of the sample articles. MIX_WEIGHT and MIX_THRESHOLD are that setting;
bench/matching.py --pairs N --sts test measures it through the search index, as
ingest scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

EMBEDDER_FORMAT = "workbench-embedder/1"
#: The environment variable that names a model directory (else the one shipped is used).
DIR_VARIABLE = "WORKBENCH_EMBEDDER_DIR"
# Sentences embedded together: sorted by length, so little padding.
BATCH = 16
#: Weight of the TF-IDF score in the mixed score; the cosine gets the rest.
MIX_WEIGHT = 0.25
#: Mixed score from which two claims are linked.
MIX_THRESHOLD = 0.7


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded (file missing, onnxruntime or tokenizers absent)."""


def default_threads() -> int:
    """Return onnxruntime's intra-op threads: the encoder's setting (WORKBENCH_MODEL_THREADS)."""
    from .encoder import EncoderUnavailable
    from .encoder import default_threads as encoder_threads

    try:
        return encoder_threads()
    except EncoderUnavailable as exc:
        raise EmbedderUnavailable(str(exc)) from None


def configured_dir() -> Path | None:
    """Return the directory WORKBENCH_EMBEDDER_DIR names, or None when it is unset or empty."""
    raw = os.environ.get(DIR_VARIABLE, "").strip()
    return Path(raw) if raw else None


def mixed_score(tfidf: float, cosine: float) -> float:
    """Return MIX_WEIGHT x the matcher's TF-IDF score + the rest x the embeddings' cosine.

    For candidate pairs that pass the matcher's number and negation vetoes only: a
    vetoed pair is a different claim whatever its cosine ("rose 5%" / "rose 6%").
    """
    return MIX_WEIGHT * tfidf + (1.0 - MIX_WEIGHT) * cosine


class Embedder:
    """Unit-length sentence embeddings from the ONNX file; cosine = dot product."""

    def __init__(self, session: Any, tokenizer: Any, meta: dict[str, Any]):
        _check_meta(meta)
        self.session = session
        self.tokenizer = tokenizer
        self.meta = meta
        self.version: str = meta["version"]
        self.max_length: int = int(meta["max_length"])
        self.dimensions: int = int(meta["dimensions"])

    @classmethod
    def load(cls, directory: Path | str, threads: int | None = None) -> Embedder:
        """Load model.onnx, tokenizer.json and meta.json from directory; EmbedderUnavailable if not."""
        directory = Path(directory)
        missing = [n for n in ("model.onnx", "tokenizer.json", "meta.json") if not (directory / n).is_file()]
        if missing:
            raise EmbedderUnavailable(f"embedder model files missing in {directory}: {', '.join(missing)}")
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EmbedderUnavailable(f"unreadable {directory / 'meta.json'}: {exc}") from exc
        _check_meta(meta)
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailable(f"the embedder needs onnxruntime and tokenizers: {exc}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # onnxruntime and tokenizers raise their own, untyped, errors
            raise EmbedderUnavailable(f"cannot load the embedder in {directory}: {exc}") from exc
        tokenizer.enable_truncation(max_length=int(meta["max_length"]))
        tokenizer.no_padding()
        return cls(session, tokenizer, meta)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return one unit-length row per text (len(texts) x dimensions), batched by length."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                row = encodings[i].ids
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            (vectors,) = self.session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
            out[idx] = vectors
        return out

    def cosines(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Return the cosine of each pair of texts."""
        if not pairs:
            return []
        vectors = self.embed([t for pair in pairs for t in pair])
        return [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(pairs))]


def _check_meta(meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != EMBEDDER_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise EmbedderUnavailable(f"not a {EMBEDDER_FORMAT} model: {found!r}")
    missing = [k for k in ("version", "max_length", "dimensions") if k not in meta]
    if missing:
        raise EmbedderUnavailable(f"meta.json lacks {', '.join(missing)}")
