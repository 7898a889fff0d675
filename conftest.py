"""Makes the repository root importable under a bare ``pytest`` too (pytest puts
the folder of a root ``conftest.py`` on the path), so tests import ``tools`` and
``experiments`` as packages; the fixtures live in ``tests/conftest.py``."""
