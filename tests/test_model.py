"""The shipped check-worthiness model: loading, scoring, reasons, reproducible training."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from workbench.extraction.model import MODEL_FORMAT, MODEL_PATH, CheckworthinessModel, shipped_model

CROWDSOURCED = Path(__file__).resolve().parents[2] / "shared/data/claimbuster/crowdsourced.csv"


def test_shipped_model_is_small_json_not_a_pickle():
    raw = MODEL_PATH.read_bytes()
    assert len(raw) < 20_000_000
    spec = json.loads(gzip.decompress(raw))
    assert spec["format"] == MODEL_FORMAT
    assert spec["classes"] == ["NFS", "UFS", "CFS"]
    assert 0 < spec["threshold"] < 1


def test_scores_statistics_high_and_greetings_low_with_reasons():
    model = shipped_model()
    high, reasons = model.explain("Unemployment rose to 7.4 percent in 2029, the highest rate since 2001.")
    assert high > 0.9
    assert reasons and all(r.weight > 0 for r in reasons)
    low, reasons = model.explain("Thank you all for coming tonight.")
    assert low < 0.1
    assert reasons and all(r.weight < 0 for r in reasons)


def test_reasons_name_words_as_written():
    _, reasons = shipped_model().explain("We have cut taxes for 95 percent of working families.")
    labels = [r.label for r in reasons]
    assert "'95'" in labels  # digits are folded for the model, not in the reason
    assert all(r.reason().endswith(")") for r in reasons)


def test_rejects_a_file_of_another_format(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError):
        CheckworthinessModel.load(path)


@pytest.mark.shared
def test_training_with_the_same_seed_gives_the_same_predictions(tmp_path):
    if not CROWDSOURCED.exists():
        pytest.skip(f"../shared not present: {CROWDSOURCED}")
    pytest.importorskip("sklearn")
    from workbench.extraction import training

    # Every 25th sentence: ~900 from every debate, so the grouped split has groups.
    examples = training.read_claimbuster(CROWDSOURCED)[::25]
    probe = [e.text for e in examples[:200]]

    def train_once(name: str) -> tuple[bytes, list[float]]:
        model, _ = training.train(examples, seed=7, c_grid=(1.0,), log=lambda *_: None)
        path = tmp_path / name
        training.save(model, path)
        reloaded = CheckworthinessModel.load(path)
        return path.read_bytes(), [reloaded.score(t) for t in probe]

    first_bytes, first = train_once("a.json.gz")
    second_bytes, second = train_once("b.json.gz")
    assert first == second
    assert first_bytes == second_bytes
    assert len(set(first)) > 10  # it learned something, not a constant
