"""The template catalogue: label index <-> merged meme template.

A data build's ``catalogue.json`` fixes which integer label means which
template, for the classifier and the caption model alike. Templates that show
the same picture under several sites' ids were merged into one (see
``dank.data.dedupe``); every source id stays findable through ``aliases``.
"""

import dataclasses
import difflib
import re

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_build_json, write_json

CATALOGUE_FORMAT = 1  # Bump when the JSON layout changes.
SITE_PREFERENCE = ("imgflip-", "memegenlink-", "mgnet-")  # Canonical id order.


def normalize_name(name):
    """Lower-case letters and digits only: "Success-Kid" == "success kid"."""
    return re.sub(r"[^0-9a-z]+", "", (name or "").lower())


@dataclasses.dataclass(frozen=True)
class Template:
    """One (merged) meme template.

    Attributes:
        label: index in the catalogue, the class id of the classifier.
        id: canonical source id, e.g. ``imgflip-Success-Kid``.
        name: display name, e.g. ``Success Kid``.
        aliases: every source id and alternative name merged into this one.
        image: file name inside the build's ``templates/`` folder.
        boxes: memegen text-box geometry (list of dicts) or ``None``.
        n_captions: captions of this template kept in the build (all splits).
    """

    label: int
    id: str
    name: str
    aliases: tuple = ()
    image: str = ""
    boxes: list | None = None
    n_captions: int = 0

    def to_json(self):
        d = dataclasses.asdict(self)
        d["aliases"] = list(self.aliases)
        return d

    @classmethod
    def from_json(cls, d):
        return cls(**{**d, "aliases": tuple(d.get("aliases", ()))})


class Catalogue:
    """The templates of a data build, indexed by label.

    Args:
        templates: ``Template`` objects whose labels are 0..n-1 in order.
    """

    def __init__(self, templates):
        self.templates = list(templates)
        for i, t in enumerate(self.templates):
            if t.label != i:
                raise ValueError(f"template {t.id} has label {t.label}, expected {i}")
        self._by_key = {}
        # Later entries never override earlier ones: ids win over aliases.
        for t in self.templates:
            self._by_key.setdefault(t.id.lower(), t)
        for t in self.templates:
            for key in (t.name, *t.aliases):
                self._by_key.setdefault(key.lower(), t)
        self._by_norm = {}
        for t in self.templates:
            for key in (t.id, t.name, *t.aliases):
                self._by_norm.setdefault(normalize_name(key), t)

    def __len__(self):
        return len(self.templates)

    def __getitem__(self, label):
        if not 0 <= int(label) < len(self.templates):
            raise DankError(f"template label {label} is outside 0..{len(self) - 1}")
        return self.templates[int(label)]

    def __iter__(self):
        return iter(self.templates)

    def label_of(self, source_id):
        """The label of the template that ``source_id`` (any merged id) belongs to."""
        t = self._by_key.get(source_id.lower())
        if t is None:
            raise DankError(f"no template with id {source_id!r} in this catalogue")
        return t.label

    def find(self, query):
        """Finds a template by id, alias or name (case-insensitive), else fuzzily.

        Raises:
            DankError: nothing matches; the message lists the closest names.
        """
        query = str(query).strip()
        t = self._by_key.get(query.lower()) or self._by_norm.get(normalize_name(query))
        if t is not None:
            return t
        names = list(self._by_norm)
        close = difflib.get_close_matches(
            normalize_name(query), names, n=5, cutoff=0.75
        )
        if close and (
            len(close) == 1
            or difflib.SequenceMatcher(None, normalize_name(query), close[0]).ratio()
            >= 0.9
        ):
            return self._by_norm[close[0]]
        hints = difflib.get_close_matches(normalize_name(query), names, n=5, cutoff=0.4)
        shown = (
            ", ".join(sorted({self._by_norm[h].name for h in hints})) or "none close"
        )
        raise DankError(
            f"no template matches {query!r}; closest: {shown}. "
            "`dank data info DIR` lists all templates."
        )

    def save(self, path):
        """Writes ``catalogue.json`` atomically."""
        write_json(
            path,
            {
                "format": CATALOGUE_FORMAT,
                "templates": [t.to_json() for t in self.templates],
            },
        )

    @classmethod
    def load(cls, path):
        """Reads a catalogue written by ``save`` (a directory: its catalogue.json)."""
        path, data = read_build_json(
            path, constants.CATALOGUE_FILE, "catalogue", CATALOGUE_FORMAT
        )
        try:
            return cls(Template.from_json(d) for d in data["templates"])
        except (KeyError, TypeError, ValueError) as e:
            raise DankError(
                f"{path} is a broken catalogue ({e}); rebuild the data"
            ) from e

    def __eq__(self, other):
        return isinstance(other, Catalogue) and self.templates == other.templates

    def __repr__(self):
        return f"Catalogue({len(self)} templates)"


def canonical_order(source_id, n_captions):
    """Sort key choosing a group's canonical id: site preference, then captions."""
    rank = next(
        (i for i, p in enumerate(SITE_PREFERENCE) if source_id.startswith(p)),
        len(SITE_PREFERENCE),
    )
    return (rank, -n_captions, source_id)
