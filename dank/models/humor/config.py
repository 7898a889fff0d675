"""Configuration of the humour model and its training, and the presets.

``PRESETS`` holds one ``HumorConfig`` per preset name: ``tiny`` (tests; trains
in seconds), ``cpu`` (the starter or full build within a few minutes on a
2-core CPU) and ``paper`` (a larger model; the paper had no humour model, so
these are our own settings, not the paper's).
"""

import dataclasses

# Training targets (``dank.models.humor.targets``); each a percentile within template.
TARGETS = ("percentile", "smoothed_rate", "residual")
HUMOR_DIR = "humor"  # The humour model's subdirectory of a run directory.


@dataclasses.dataclass(frozen=True)
class HumorConfig:
    """Everything that defines a humour model and how it is trained."""

    target: str = "smoothed_rate"  # One of TARGETS (see dank.models.humor.targets).
    prior_views: float = (
        0.0  # smoothed_rate prior strength, views; 0 = template median.
    )
    embedding_dim: int = 64  # Word embedding size.
    filters: int = 128  # Convolution filters over word windows.
    kernel_size: int = 3  # Words per convolution window.
    template_dim: int = 16  # Template embedding size.
    hidden: int = 64  # Units of the hidden layer joining text and template.
    dropout: float = 0.2  # Dropout rate on the joined features.
    template_dropout: float = 0.2  # Share of examples also seen as "unknown template".
    max_len: int = 32  # Tokens per caption; builds cap captions at 29.
    learning_rate: float = 1e-3  # Adam step size.
    batch_size: int = 256  # Captions per batch.
    epochs: int = 3  # Passes over the training split.
    patience: int = 1  # Epochs of rising val loss before stopping; 0 = never.
    seed: int = 0  # Initialisation, shuffling and template-dropout seed.

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(
                f"unknown humour target {self.target!r}; "
                f"choose one of {', '.join(TARGETS)}"
            )
        for name in (
            "embedding_dim",
            "filters",
            "kernel_size",
            "template_dim",
            "hidden",
            "max_len",
            "batch_size",
            "epochs",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} must be at least 1, got {getattr(self, name)}"
                )
        for name in ("dropout", "template_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")
        if self.prior_views < 0:
            raise ValueError(f"prior_views must be >= 0, got {self.prior_views}")

    def to_json(self):
        """The config as a JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d):
        """The inverse of ``to_json``; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


PRESETS = {
    "tiny": HumorConfig(
        embedding_dim=16,
        filters=16,
        template_dim=4,
        hidden=16,
        batch_size=32,
        epochs=8,
        patience=0,
        learning_rate=3e-3,
    ),
    "cpu": HumorConfig(),
    "paper": HumorConfig(
        embedding_dim=128, filters=256, template_dim=32, hidden=128, epochs=6
    ),
}


def preset(name, **overrides):
    """The config of preset ``name`` with ``overrides`` applied (``None`` ignored).

    Raises:
        DankError: ``name`` is not a preset.
    """
    from dank.core.errors import DankError

    if name not in PRESETS:
        raise DankError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    try:
        return dataclasses.replace(PRESETS[name], **changes)
    except ValueError as e:
        raise DankError(str(e)) from e
