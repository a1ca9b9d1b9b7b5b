"""The shipped check-worthiness encoders (cw-3, and cw-2 before it) run with onnxruntime.

Each lives in a directory of its version under model/ (model/cw-3/, model/cw-2/):
model.onnx is all-MiniLM-L6-v2 fine-tuned on ClaimBuster (mean pooling and a
linear head, int8 weights; docs/model-card.md); tokenizer.json is its WordPiece
tokenizer, read by the `tokenizers` package; meta.json holds the version, the
decision threshold and the probabilities the file gave on fixed sentences when
it was made. No PyTorch at run time. The older encoder stays in the package so
that claims it scored can be scored again by the same model.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.resources import resource_path

ENCODER_FORMAT = "workbench-encoder/1"
MODELS_DIR = resource_path("extraction", "model")
#: The encoders shipped, newest (the default) first; each in model/<version>/.
ENCODERS = ("cw-3", "cw-2")
DEFAULT_ENCODER = ENCODERS[0]


def encoder_dir(version: str) -> Path:
    """Return the directory of a shipped encoder version."""
    return MODELS_DIR / version


MODEL_DIR = encoder_dir(DEFAULT_ENCODER)
# Sentences scored together: sorted by length, so little padding.
BATCH = 16


class EncoderUnavailable(RuntimeError):
    """The encoder model cannot be loaded (file missing, onnxruntime or tokenizers absent)."""


def default_threads() -> int:
    """Return onnxruntime's intra-op threads: WORKBENCH_MODEL_THREADS, else 1 (one core per worker)."""
    raw = os.environ.get("WORKBENCH_MODEL_THREADS", "1")
    try:
        return max(1, int(raw))
    except ValueError:
        raise EncoderUnavailable(f"WORKBENCH_MODEL_THREADS must be a whole number, not {raw!r}") from None


class EncoderModel:
    """P(check-worthy) from the ONNX file; score() maps the threshold to 0.5 like cw-1."""

    def __init__(self, session: Any, tokenizer: Any, meta: dict[str, Any]):
        if meta.get("format") != ENCODER_FORMAT:
            raise EncoderUnavailable(f"not a {ENCODER_FORMAT} model: {meta.get('format')!r}")
        self.session = session
        self.tokenizer = tokenizer
        self.meta = meta
        self.version: str = meta["version"]
        self.threshold: float = float(meta["threshold"])
        self.max_length: int = int(meta["max_length"])

    @classmethod
    def load(cls, directory: Path | str = MODEL_DIR, threads: int | None = None) -> EncoderModel:
        """Load model.onnx, tokenizer.json and meta.json from directory; EncoderUnavailable if not."""
        directory = Path(directory)
        missing = [n for n in ("model.onnx", "tokenizer.json", "meta.json") if not (directory / n).is_file()]
        if missing:
            raise EncoderUnavailable(f"encoder model files missing in {directory}: {', '.join(missing)}")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"the encoder model needs onnxruntime and tokenizers: {exc}") from exc
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own, untyped, errors
            raise EncoderUnavailable(f"onnxruntime cannot load {directory / 'model.onnx'}: {exc}") from exc
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=int(meta["max_length"]))
        tokenizer.no_padding()
        return cls(session, tokenizer, meta)

    @classmethod
    def shipped(cls, version: str = DEFAULT_ENCODER, threads: int | None = None) -> EncoderModel:
        """Load a shipped encoder by version; EncoderUnavailable if its files say otherwise."""
        model = cls.load(encoder_dir(version), threads)
        if model.version != version:
            raise EncoderUnavailable(f"{encoder_dir(version)} holds {model.version!r}, not {version!r}")
        return model

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """Return P(check-worthy) for each text, batched by length."""
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = [0.0] * len(texts)
        for b in range(0, len(order), BATCH):
            idx = order[b : b + BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                row = encodings[i].ids
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1
            (p,) = self.session.run(["p_checkworthy"], {"input_ids": ids, "attention_mask": mask})
            for r, i in enumerate(idx):
                out[i] = float(p[r])
        return out

    def probability(self, text: str) -> float:
        """Return P(check-worthy) for one text."""
        return self.probabilities([text])[0]

    def scores(self, texts: Sequence[str]) -> list[float]:
        """Return scores in [0, 1] where 0.5 is the threshold chosen on validation."""
        return [self._calibrated(p) for p in self.probabilities(texts)]

    def score(self, text: str) -> float:
        """Return one text's score (see scores)."""
        return self.scores([text])[0]

    def _calibrated(self, p: float) -> float:
        p = min(max(p, 1e-12), 1 - 1e-12)
        x = math.log(p / (1 - p)) - math.log(self.threshold / (1 - self.threshold))
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
