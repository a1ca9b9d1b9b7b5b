"""``workbench matching embed``: give every claim its sentence vector (claim matching)."""

from __future__ import annotations

import click

from workbench.cli import fails_cleanly, main
from workbench.errors import ValidationError


@main.group("matching")
def matching_group() -> None:
    """Claim matching: the stored sentence vectors it scores candidates with."""


@matching_group.command("embed")
@click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True, help="claims per commit")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="embed at most this many claims")
@fails_cleanly
def matching_embed(batch: int, limit: int | None) -> None:
    """Embed the claims that have no vector by the embedder in use (those made before it shipped).

    Each batch commits: a run stopped part way goes on where it stopped. Until a claim has its
    vector, a claim that may repeat it is scored against it by TF-IDF alone.
    """
    from workbench.extraction.embedder import EmbedderUnavailable
    from workbench.matching import embeddings

    try:
        embedder = embeddings.load()
    except EmbedderUnavailable as exc:
        raise ValidationError(f"the embedder cannot be loaded: {exc}") from None
    done = embeddings.embed_missing(batch=batch, limit=limit)
    click.echo(f"embedded {done} claim(s) with {embedder.version}")


@matching_group.command("status")
@fails_cleanly
def matching_status() -> None:
    """Say which embedder matching uses, and how many claims still lack its vector."""
    from flask import current_app

    from workbench.extraction.embedder import EmbedderUnavailable
    from workbench.matching import embeddings

    if not current_app.config.get("MATCH_EMBEDDINGS", True):
        click.echo("embedder: off (WORKBENCH_MATCH_EMBEDDINGS=0): matching with TF-IDF alone")
        return
    try:
        embedder = embeddings.load()
    except EmbedderUnavailable as exc:
        raise ValidationError(f"the embedder cannot be loaded, matching with TF-IDF alone: {exc}") from None
    lacking, total = embeddings.missing(embedder)
    click.echo(f"embedder: {embedder.version} from {embeddings.embedder_dir()}")
    click.echo(f"claims without its vector: {lacking} of {total}")
    if lacking:
        click.echo("run 'workbench matching embed' to give them theirs")
