"""How the check-worthiness encoders are trained: the settings of each shipped version.

Kept apart from encoder_training.py (which needs PyTorch) so that the command
line, the tests and the documentation can read a recipe where PyTorch is not
installed; `workbench model train --model VERSION` trains with RECIPES[VERSION].
"""

from __future__ import annotations

from dataclasses import dataclass

from .training import CLASSES, Example

DEFAULT_SEED = 13


@dataclass(frozen=True)
class Settings:
    """What a training run is made of; stored in the model's metadata."""

    epochs: int = 3
    learning_rate: float = 5e-5
    batch_size: int = 32
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    dropout: float = 0.1
    max_length: int = 64
    validation_share: float = 0.1
    seed: int = DEFAULT_SEED
    threads: int = 2
    # Stop after this many epochs of the schedule planned over `epochs` (None: run them all).
    stop_after: int | None = 1
    # For tests: stop each epoch after this many batches (None: the whole epoch).
    max_batches: int | None = None
    # 2: check-worthy (CFS) or not; 3: ClaimBuster's NFS, UFS and CFS, P(CFS) the score. The
    # third class tells the model which sentences are factual but unimportant (UFS).
    classes: int = 2


def target(example: Example, classes: int) -> int:
    """Return the training label: CFS is the last class either way (P(CFS) = softmax[:, -1])."""
    if classes == 2:
        return example.label
    if classes == 3:
        return CLASSES.index(example.verdict)
    raise ValueError(f"classes must be 2 or 3, not {classes}")


#: How each shipped encoder was made (settings, and the last year of debates trained on; None:
#: all of crowdsourced.csv): `workbench model train --model VERSION` makes it again.
RECIPES: dict[str, tuple[Settings, int | None]] = {
    "cw-3": (Settings(epochs=3, stop_after=3), None),
    "cw-2": (Settings(epochs=3, stop_after=1), 2008),
}
ENCODER_VERSION = "cw-3"
