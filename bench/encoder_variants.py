"""Try variants of the check-worthiness encoder's recipe on the shift benchmark (needs PyTorch).

Usage (a virtualenv with the train-encoder extra):
    python bench/encoder_variants.py --epochs 3 [--classes 3] [--seed 13] [--out DIR]
    python bench/encoder_variants.py --soup DIR/e1.pt DIR/e2.pt DIR/e3.pt [--classes 2]
    python bench/encoder_variants.py --tfidf-mix MODEL_DIR   (an exported encoder trained to 2008)
    python bench/encoder_variants.py --base TEACHER_DIR --lr 3e-5 --epochs 2 --out DIR   (another encoder)
    python bench/encoder_variants.py --base TEACHER_DIR --probabilities DIR/e2.pt P.npy
    python bench/encoder_variants.py --distil P.npy [--alpha 0.5] --epochs 3   (MiniLM learns from it)

Every variant trains on the debates up to 2008 of crowdsourced.csv with the
latest three (2008) held out for validation, exactly as `workbench model train
--until 2008` does (same batches, schedule and seed: with the cw-3 recipe the
epoch-2 weights here are the ones that command exports). After each epoch it
prints validation F1 (the only figure a choice may use), and, for the record,
F1 of the check-worthy class on the 2012 and 2016 debates (the shift split) and
on groundtruth.csv at the validation threshold (fp32, before int8 export).
--soup averages saved epoch weights (a "model soup"); --tfidf-mix averages an
exported encoder's probabilities with a TF-IDF logistic regression's, the weight
and threshold chosen on validation. One JSON line per result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared/data/claimbuster"

from workbench.extraction import training  # noqa: E402
from workbench.extraction.encoder_recipe import Settings, target  # noqa: E402
from workbench.extraction.encoder_training import f1_at, temporal_split  # noqa: E402


def splits():
    examples = training.read_claimbuster(SHARED / "crowdsourced.csv")
    gt = training.read_claimbuster(SHARED / "groundtruth.csv")
    train = [e for e in examples if e.group[:4] <= "2008"]
    test = [e for e in examples if e.group[:4] in ("2012", "2016")]
    tr, va = temporal_split(train, 0.1)
    return train, tr, va, test, gt


def report(tag, y, p, threshold_f1=None):
    (yv, yt, yg), (pv, pt, pg) = y, p
    th, f = threshold_f1 or training.best_threshold(yv, pv)
    print(
        json.dumps(
            {
                "variant": tag,
                "validation_f1": round(f, 4),
                "threshold": th,
                "shift": f1_at(list(yt), list(pt), th),
                "groundtruth": f1_at(list(yg), list(pg), th),
            }
        ),
        flush=True,
    )


def torch_variants(args):
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer

    from workbench.extraction.encoder_training import (
        Classifier,
        _batches,
        _Encoded,
        _predict,
        base_model_dir,
    )

    train, tr, va, test, gt = splits()
    s = Settings(
        epochs=args.epochs,
        stop_after=args.epochs,
        seed=args.seed,
        classes=args.classes,
        learning_rate=args.lr,
        max_batches=args.max_batches,
    )
    base = args.base or base_model_dir()
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(s.seed)
    tok = AutoTokenizer.from_pretrained(str(base))
    enc = AutoModel.from_pretrained(str(base))
    model = Classifier(enc, enc.config.hidden_size, s.dropout, s.classes)
    data = [
        _Encoded(tok, [e.text for e in part], s.max_length)
        for part in ([train[i] for i in tr], [train[i] for i in va], test, gt)
    ]
    y = (
        np.array([train[i].label for i in va]),
        np.array([e.label for e in test]),
        np.array([e.label for e in gt]),
    )

    def predict(m, parts=None):
        """P(CFS) per sentence of each part (default: validation, shift and groundtruth)."""
        return [_predict(m, d) for d in (data[1:] if parts is None else parts)]

    if args.probabilities:
        # A trained model's P(check-worthy) on the training sentences (the order of `tr`), as
        # soft targets for --distil; and its figures, for the record.
        weights, target_file = args.probabilities
        model.load_state_dict(torch.load(weights))
        report(f"weights {weights.name}", y, predict(model))
        np.save(target_file, predict(model, [data[0]])[0])
        return
    soft = None
    if args.distil:
        soft = torch.tensor(np.load(args.distil), dtype=torch.float32)
        if len(soft) != len(tr) or s.classes != 2:
            raise SystemExit(f"--distil needs 2 classes and {len(tr)} probabilities, not {len(soft)}")
    if args.soup:
        states = [torch.load(f) for f in args.soup]
        model.load_state_dict({k: sum(st[k].float() for st in states) / len(states) for k in states[0]})
        report(f"soup of {len(states)}", y, predict(model))
        return
    y_train = torch.tensor([target(train[i], s.classes) for i in tr])
    per_epoch = len(_batches(data[0].lengths, s.batch_size, np.random.default_rng(0)))
    total = per_epoch * s.epochs
    warmup = max(1, int(total * s.warmup_share))
    decay = ["bias", "LayerNorm.weight"]
    optimiser = torch.optim.AdamW(
        [
            {
                "params": [p for n, p in model.named_parameters() if not any(d in n for d in decay)],
                "weight_decay": s.weight_decay,
            },
            {
                "params": [p for n, p in model.named_parameters() if any(d in n for d in decay)],
                "weight_decay": 0.0,
            },
        ],
        lr=s.learning_rate,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda k: min((k + 1) / warmup, max(0.0, (total - k) / max(1, total - warmup)))
    )
    loss_fn = nn.CrossEntropyLoss()
    started = time.perf_counter()
    for epoch in range(1, s.epochs + 1):
        model.train()
        for idx in _batches(data[0].lengths, s.batch_size, rng)[: s.max_batches]:
            logits = model(*data[0].batch(idx))
            loss = loss_fn(logits, y_train[idx])
            if soft is not None:
                # Knowledge distillation: the teacher's probabilities as soft targets, mixed with
                # the coders' labels (weight --alpha on the labels).
                q = soft[idx]
                teacher = torch.stack([1 - q, q], dim=1)
                soft_loss = -(teacher * torch.log_softmax(logits, dim=-1)).sum(dim=1).mean()
                loss = args.alpha * loss + (1 - args.alpha) * soft_loss
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), args.out / f"e{epoch}.pt")
        report(
            f"{s.classes} classes, epoch {epoch}/{s.epochs} ({time.perf_counter() - started:.0f} s)",
            y,
            predict(model),
        )


def tfidf_mix(directory: Path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    from workbench.extraction.encoder import EncoderModel

    train, tr, va, test, gt = splits()
    parts = ([train[i] for i in va], test, gt)
    y = tuple(np.array([e.label for e in part]) for part in parts)
    encoder = EncoderModel.load(directory)
    p = [np.array(encoder.probabilities([e.text for e in part])) for part in parts]
    vec = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3),
    )
    lr = LogisticRegression(max_iter=3000, C=2.0).fit(
        vec.fit_transform([train[i].text for i in tr]), [train[i].label for i in tr]
    )
    q = [lr.predict_proba(vec.transform([e.text for e in part]))[:, 1] for part in parts]
    weights = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    mixes = [(training.best_threshold(y[0], w * p[0] + (1 - w) * q[0]), w) for w in weights]
    best = max(mixes, key=lambda m: m[0][1])  # the best validation F1
    (th, f), w = best
    report(
        f"{encoder.version} x {w:.1f} + TF-IDF LR x {1 - w:.1f}",
        y,
        [w * a + (1 - w) * b for a, b in zip(p, q, strict=True)],
        (th, f),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--classes", type=int, default=2, choices=(2, 3))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--lr", type=float, default=Settings.learning_rate)
    parser.add_argument(
        "--base", type=Path, default=None, help="another base encoder's folder (default: MiniLM-L6)"
    )
    parser.add_argument("--max-batches", type=int, default=None, help="per epoch, to time a run")
    parser.add_argument(
        "--probabilities",
        type=Path,
        nargs=2,
        metavar=("WEIGHTS", "FILE"),
        default=None,
        help="save these weights' P(CFS) on the training sentences to FILE (.npy), for --distil",
    )
    parser.add_argument("--distil", type=Path, default=None, help="a teacher's --probabilities file")
    parser.add_argument("--alpha", type=float, default=0.5, help="--distil: the labels' weight")
    parser.add_argument("--out", type=Path, default=None, help="save each epoch's weights here")
    parser.add_argument("--soup", type=Path, nargs="+", default=None)
    parser.add_argument("--tfidf-mix", type=Path, default=None)
    args = parser.parse_args()
    if not (SHARED / "crowdsourced.csv").is_file():
        parser.error(f"needs ClaimBuster's data in {SHARED}")
    if args.tfidf_mix:
        tfidf_mix(args.tfidf_mix)
    else:
        torch_variants(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
