"""``workbench model train``: rebuild the shipped check-worthiness model."""

from __future__ import annotations

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
@click.option("--seed", type=int, default=None, help="split and solver seed (default: the shipped model's)")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where to write the model (default: the file shipped in the package)",
)
@fails_cleanly
def model_train(data: Path, seed: int | None, output: Path | None) -> None:
    """Train on DATA with a fixed seed, choosing on a held-out split of debates."""
    try:
        from workbench.extraction import training
    except ImportError as exc:
        raise ValidationError(
            f"training needs scikit-learn: pip install 'workbench[train]' ({exc})"
        ) from None
    from workbench.extraction.model import MODEL_PATH

    if not data.is_file():
        raise ValidationError(f"no such file: {data} (the ClaimBuster crowdsourced.csv)")
    examples = training.read_claimbuster(data)
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
