"""The store's schema version, apart from the schema so that reading it needs no SQLAlchemy
(see :mod:`.reads`). ``schema.py`` checks that it counts its migrations."""

VERSION = 8
