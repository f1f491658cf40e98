"""Modules imported on first use, so a command imports only what it runs.

``kb --help`` must not pay for SQLAlchemy, scipy, onnxruntime or MkDocs; a module bound with
:func:`lazy_module` is executed the first time one of its attributes is read (the standard
library's :class:`importlib.util.LazyLoader`). Annotate the name under ``TYPE_CHECKING`` with a
plain import so type checkers still see the module's contents.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, loaded when first used (at once if it is loaded already)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as the import system does: ``import generator.pipeline`` then finds it
        setattr(sys.modules[parent], child, module)
    return module
