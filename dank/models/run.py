"""``Run``: a trained run directory, opened once, each part loaded when first asked.

Everything that uses a trained run (the cascade, the server, the exporters,
the doctor, the metrics, the experiments) opens it here::

    run = Run.open("runs/default")       # Reads run.json only.
    run.classifier                       # vision/model.keras + the catalogue.
    run.captioner()                      # language/model.keras (+ vocab check).
    run.humor                            # humor/model.keras + vocab, catalogue.
    run.template_image_path(template)    # A picture in the run's data build.

Each part is loaded once per ``Run`` and shared: the catalogue and the
vocabulary are read once however many models use them. A missing part raises
``DankError`` naming the command that makes it. File names come from
``dank.core.run.RunLayout``; nothing here or above knows them.
"""

import functools
from pathlib import Path

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json
from dank.core.run import (
    RunLayout,
    model_name,
    read_run_info,
    template_image_path,
    train_command,
)


class Run:
    """A run directory: its description, and its parts loaded lazily, cached.

    Make one with ``Run.open(path)``. A ``Run`` is path-like (``Path(run)`` is
    its directory), so it can be passed wherever a run directory is.

    Attributes:
        path: the run directory.
        layout: its ``RunLayout`` (where each file lives).
        info: the parsed ``run.json``.
    """

    def __init__(self, path, info):
        self.layout = RunLayout(path)
        self.path = self.layout.root
        self.info = info
        self._captioners = {}

    @classmethod
    def open(cls, run):
        """Opens ``run`` (a path, or a ``Run``, returned as it is).

        Reads only ``run.json``; everything else loads on first use.

        Raises:
            DankError: ``run`` is missing, not a run directory, or was written
                by a dank that wrote another run format.
        """
        if isinstance(run, cls):
            return run
        return cls(run, read_run_info(run))

    def __repr__(self):
        return f"Run({str(self.path)!r})"

    def __str__(self):
        return str(self.path)

    def __fspath__(self):
        # A Run stands for its directory wherever a path is taken.
        return str(self.path)

    # What the run holds ---------------------------------------------------------

    def config(self, component):
        """The configuration ``component`` was trained with ({} if not recorded)."""
        return dict(self.info.get("components", {}).get(component) or {})

    def has(self, component):
        """Whether ``component`` (``vision``, ``language-image``...) is trained."""
        return self.layout.model_file(component).is_file()

    def require(self, component):
        """The model file of ``component``.

        Raises:
            DankError: it is not trained, naming the command that trains it.
        """
        path = self.layout.model_file(component)
        if not path.is_file():
            raise DankError(
                f"no {model_name(component)} in {self.path}: run "
                f"`{train_command(self.path, component)}`"
            )
        return path

    def missing(self, *components):
        """``[(relative path, what it is, command)]`` of each absent file that
        ``components`` need, the shared catalogue and vocabulary included."""
        layout = self.layout
        wanted = [
            (layout.catalogue_file, "the template catalogue", constants.VISION_DIR),
            (layout.vocab_file, "the vocabulary", constants.LANGUAGE_DIR),
        ]
        for component in components:
            unfinished = f"{component} training has not finished"
            wanted.append(
                (
                    layout.model_file(component),
                    f"the {model_name(component)} ({unfinished})",
                    component,
                )
            )
            if component == constants.VISION_DIR:
                wanted.append(
                    (
                        layout.calibration_file(),
                        f"the vision calibration ({unfinished})",
                        component,
                    )
                )
        return [
            (layout.relative(path), what, train_command(self.path, component))
            for path, what, component in wanted
            if not path.is_file()
        ]

    def metrics(self, component):
        """What training recorded for ``component`` (a dict), or None."""
        path = self.layout.metrics_file(component)
        return read_json(path, f"{component} metrics") if path.is_file() else None

    @property
    def data_dir(self):
        """The data build the run was trained on (it may have moved), or None."""
        data = self.info.get("data")
        return Path(data) if data else None

    def data_build(self, data_dir=None, instead=None):
        """``data_dir``, or else the run's own data build; it must exist.

        Raises:
            DankError: no such build, naming it, ``make data`` and ``instead``
                (another way out, such as "pass --data DIR").
        """
        data = Path(data_dir or self.data_dir or "")
        if not (data / constants.CATALOGUE_FILE).is_file():
            raise DankError(
                f"data build {data} of {self.path} not found; build it with "
                f"`make data`{f' or {instead}' if instead else ''}"
            )
        return data

    # Parts, each loaded on first use -------------------------------------------

    @functools.cached_property
    def catalogue(self):
        """The run's ``Catalogue`` (label -> template)."""
        from dank.data.catalogue import Catalogue

        return Catalogue.load(self.layout.catalogue_file)

    @functools.cached_property
    def vocab(self):
        """The run's ``Vocabulary``."""
        from dank.data.vocab import Vocabulary

        return Vocabulary.load(self.layout.vocab_file)

    @functools.cached_property
    def classifier(self):
        """The template classifier (``dank.models.vision.predict.Classifier``)."""
        from dank.models.vision import model as _model  # noqa: F401 - registers layers.
        from dank.models.vision.predict import Classifier

        model = self._load_model(constants.VISION_DIR)
        calibration = read_json(
            self.layout.calibration_file(), what="vision calibration"
        )
        size = self.config(constants.VISION_DIR).get("image_size")
        return Classifier(
            model, self.catalogue, calibration, size or model.inputs[0].shape[1]
        )

    def captioner(self, variant="template"):
        """The ``CaptionModel`` of ``variant`` (inference only, not compiled).

        It keeps the decoding contract of ``dank.models.language.models``
        (``initial_state`` / ``step``), and is checked against the run's
        catalogue and vocabulary.
        """
        if variant not in self._captioners:
            import dank.models.language.losses  # noqa: F401 - registers serializables.
            import dank.models.language.models  # noqa: F401

            component = constants.language_dir(variant)
            model = self._load_model(component)
            retrain = f"retrain with `{train_command(self.path, component)}`"
            if model.n_templates != len(self.catalogue):
                raise DankError(
                    f"{self.path}: the {model_name(component)} knows "
                    f"{model.n_templates} templates but the run's catalogue "
                    f"{len(self.catalogue)}; {retrain}"
                )
            if model.vocab_size != len(self.vocab):
                raise DankError(
                    f"{self.path}: the vocabulary has {len(self.vocab)} tokens but "
                    f"the {model_name(component)} {model.vocab_size}; {retrain}"
                )
            self._captioners[variant] = model
        return self._captioners[variant]

    @property
    def caption_model(self):
        """The default (``template``) caption model: ``captioner()``."""
        return self.captioner()

    @functools.cached_property
    def humor(self):
        """The humour scorer (``dank.models.humor.score.HumorScorer``)."""
        import dank.models.humor.model  # noqa: F401 - registers MaskedPooling.
        from dank.models.humor.config import HUMOR_DIR, HumorConfig
        from dank.models.humor.score import HumorScorer

        model = self._load_model(HUMOR_DIR)
        config = HumorConfig.from_json(self.config(HUMOR_DIR))
        return HumorScorer(model, self.vocab, len(self.catalogue), config.max_len)

    def template_image_path(self, template):
        """Where the picture of ``template`` (a catalogue entry) lies in the
        run's data build (``dank.core.images.template_picture`` opens it)."""
        return template_image_path(self.data_dir or "", template)

    def _load_model(self, component):
        import keras

        path = self.require(component)
        try:
            return keras.saving.load_model(path, compile=False)
        except (ValueError, OSError, TypeError) as e:
            raise DankError(
                f"cannot load the {model_name(component)} {path} ({e}); retrain "
                f"it with `{train_command(self.path, component)}`"
            ) from e
