"""Experiments as data: one JSON file per experiment in ``experiments/configs/``.

An experiment is a caption-model preset plus overrides, trained into a run
directory on a data build, then evaluated::

    {
      "description": "The paper's variant (a), image features as the first input.",
      "preset": "cpu",              # dank.models.language.config.PRESETS (vision too)
      "variant": "image",           # dank.models.language.config.VARIANTS
      "overrides": {},              # LanguageConfig fields changed from the preset
      "run": "runs/default",        # the model lands in run/language-<variant>/
      "data": "data/build/starter", # the data build to train and evaluate on
      "source": "data/starter",     # optional: built into "data" when missing
      "generation": {"per_template": 5, "seed": 0}  # optional, see below
    }

The experiment's name is the file name without ``.json``. Relative paths are
relative to the working directory (the repository root, where ``make`` runs).
``generation`` holds keyword arguments of
``dank.metrics.generation.generation_metrics`` (``GENERATION_KEYS``).
"""

import dataclasses
from pathlib import Path

from dank.core.errors import DankError

DEFAULT_CONFIGS = Path("experiments/configs")
REQUIRED_KEYS = ("description", "preset", "variant", "run", "data")
OPTIONAL_KEYS = ("overrides", "source", "generation")
GENERATION_KEYS = (
    "decoder",
    "per_template",
    "seed",
    "max_templates",
    "rerank",
    "safety_filter",
)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One experiment, read from ``path`` (see the module docstring)."""

    name: str  # The config's file name without .json.
    description: str  # One or two sentences: what it measures.
    preset: str  # Preset of the caption model and, when needed, the vision model.
    variant: str  # Caption-model variant.
    run: str  # Run directory.
    data: str  # Data build directory.
    overrides: dict = dataclasses.field(default_factory=dict)  # LanguageConfig.
    source: str | None = None  # Source folder to build ``data`` from if missing.
    generation: dict = dataclasses.field(default_factory=dict)  # Metric settings.
    path: str = ""  # Where the config was read from.

    def language_config(self):
        """The ``LanguageConfig`` this experiment trains."""
        from dank.models.language.config import get_preset

        try:
            return get_preset(self.preset).replace(
                variant=self.variant, **self.overrides
            )
        except ValueError as e:  # Bad values, or a clash with the preset.
            raise DankError(f"{self.name}: overrides: {e}") from e

    def model_dir(self):
        """The run subdirectory of this experiment's caption model."""
        from dank.core import constants
        from dank.core.run import RunLayout

        return RunLayout(self.run).component_dir(constants.language_dir(self.variant))

    def model_file(self):
        """The experiment's trained caption model (there once training finished)."""
        from dank.core import constants
        from dank.core.run import RunLayout

        return RunLayout(self.run).model_file(constants.language_dir(self.variant))


def _check_type(where, name, value, default):
    """DankError unless ``value`` has the type of the field's ``default``."""
    kind = type(default)
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if kind is tuple and isinstance(value, list):  # JSON has no tuples.
        ok = True
    if not ok:
        raise DankError(
            f"{where}: {name} must be a {kind.__name__} (like {default!r}), "
            f"got {value!r}"
        )


def _check_overrides(where, overrides):
    from dank.models.language.config import LanguageConfig

    if not isinstance(overrides, dict):
        raise DankError(
            f"{where}: overrides must be an object of LanguageConfig "
            f"fields, got {overrides!r}"
        )
    defaults = {f.name: f.default for f in dataclasses.fields(LanguageConfig)}
    for name, value in overrides.items():
        if name == "variant":
            raise DankError(
                f"{where}: set the variant with the top-level "
                '"variant" key, not in overrides'
            )
        if name not in defaults:
            raise DankError(
                f"{where}: unknown LanguageConfig field {name!r} in overrides; "
                f"known: {', '.join(sorted(defaults))}"
            )
        _check_type(where, f"overrides.{name}", value, defaults[name])


def parse_experiment(d, name, where="experiment"):
    """Validates a config dict and returns its ``Experiment``.

    Raises:
        DankError: a missing or unknown key, a bad preset, variant, override or
            generation setting; the message names it and the choices.
    """
    from dank.models.language.config import PRESETS, VARIANTS

    if not isinstance(d, dict):
        raise DankError(f"{where}: an experiment is a JSON object, got {type(d)}")
    known = REQUIRED_KEYS + OPTIONAL_KEYS
    for key in d:
        if key not in known:
            raise DankError(f"{where}: unknown key {key!r}; known: {', '.join(known)}")
    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise DankError(f"{where}: missing key(s) {', '.join(missing)}")
    for key in ("description", "preset", "variant", "run", "data"):
        _check_type(where, key, d[key], "")
    if d.get("source") is not None:
        _check_type(where, "source", d["source"], "")
    if d["preset"] not in PRESETS:
        raise DankError(
            f"{where}: unknown preset {d['preset']!r}; choose from {', '.join(PRESETS)}"
        )
    if d["variant"] not in VARIANTS:
        raise DankError(
            f"{where}: unknown variant {d['variant']!r}; choose from "
            f"{', '.join(VARIANTS)}"
        )
    overrides = d.get("overrides") or {}
    _check_overrides(where, overrides)
    generation = d.get("generation") or {}
    if not isinstance(generation, dict):
        raise DankError(f"{where}: generation must be an object, got {generation!r}")
    for key in generation:
        if key not in GENERATION_KEYS:
            raise DankError(
                f"{where}: unknown generation setting {key!r}; known: "
                f"{', '.join(GENERATION_KEYS)}"
            )
    experiment = Experiment(
        name=name,
        description=d["description"],
        preset=d["preset"],
        variant=d["variant"],
        run=d["run"],
        data=d["data"],
        overrides=overrides,
        source=d.get("source"),
        generation=generation,
        path=where,
    )
    try:
        experiment.language_config()  # LanguageConfig's own checks.
    except DankError as e:
        raise DankError(f"{where}: {e}") from e
    return experiment


def load_experiment(path):
    """Reads and validates one experiment config file."""
    from dank.core.io import read_json

    path = Path(path)
    return parse_experiment(
        read_json(path, what="experiment config"), path.stem, str(path)
    )


def load_experiments(configs_dir=DEFAULT_CONFIGS):
    """Every experiment in ``configs_dir``, by name (sorted)."""
    configs_dir = Path(configs_dir)
    paths = sorted(configs_dir.glob("*.json"))
    if not paths:
        raise DankError(f"no experiment configs (*.json) in {configs_dir}")
    return {e.name: e for e in map(load_experiment, paths)}


def select(experiments, names):
    """The experiments called ``names`` (all when empty), in the order given.

    A name may end with ``*`` to match a prefix (``"*-cpu"`` as a suffix too).
    """
    if not names:
        return list(experiments.values())
    chosen = []
    for name in names:
        if name in experiments:
            matched = [experiments[name]]
        elif name.startswith("*"):
            matched = [e for n, e in experiments.items() if n.endswith(name[1:])]
        elif name.endswith("*"):
            matched = [e for n, e in experiments.items() if n.startswith(name[:-1])]
        else:
            matched = []
        if not matched:
            raise DankError(f"no experiment {name!r}; known: {', '.join(experiments)}")
        chosen.extend(e for e in matched if e not in chosen)
    return chosen
