"""The lazy face of a package: its public names load on first use, from their home modules.

A package's ``__init__`` lists what it offers and where each name lives, and calls
:func:`lazy_face` for the module-level ``__getattr__`` and ``__dir__`` (PEP 562)::

    __getattr__, __dir__ = lazy_face(__name__, {"train": "fit"}, submodules=("fit",))

so ``import fer_keras.train`` imports nothing else, and ``fer_keras.train.train`` imports
``fer_keras.train.fit`` the first time it is read. Standard library only: importing it is free.
"""
from __future__ import annotations

import importlib
import sys


def lazy_face(package, exports, submodules=(), more=None):
    """``(__getattr__, __dir__)`` for the package named ``package``.

    ``exports``: ``{name: module}``, ``module`` relative to the package (``"fit"``,
    ``"methods.rise"``); ``submodules``: the package's modules readable as attributes before
    they are imported; ``more``: a function returning a further ``{name: object}`` read at
    lookup time (a registry that grows). An unknown name raises :class:`AttributeError`
    naming the package, as a plain module does."""
    exports, submodules = dict(exports), tuple(submodules)

    def __getattr__(name):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        if more is not None:
            extra = more()
            if name in extra:
                return extra[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        names = set(vars(sys.modules[package])) | set(exports) | set(submodules)
        return sorted(names | set(more() if more is not None else ()))

    return __getattr__, __dir__


_IMPORTED = set()


def import_submodules(package, path):
    """Import every public module (no leading ``_``) of the package named ``package`` whose
    ``__path__`` is ``path``, once per package: a registry whose modules register themselves
    (``explain.methods``, ``analyses``) is complete after this."""
    import pkgutil

    if package in _IMPORTED:
        return
    _IMPORTED.add(package)
    for info in pkgutil.iter_modules(path):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
