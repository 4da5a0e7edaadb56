"""Matching engine: order books for data licences, continuous trading and call auctions.

Import everything from `matching` itself. It serves the compiled build (`matching._native`,
made by `python -m matching._build`) when that is present and the interpreted modules
otherwise; both behave identically. Do not mix classes from `matching.commands` and the
like with an engine from `matching`: each build has its own classes.
"""

from typing import TYPE_CHECKING

from .exports import *  # noqa: F403  (the interpreted build; its names for readers and mypy)
from .exports import __all__ as _names

COMPILED = False
if not TYPE_CHECKING:
    try:
        from ._native import exports as _native
    except ImportError:
        pass
    else:
        globals().update({name: getattr(_native, name) for name in _names})
        COMPILED = True

__all__ = ["COMPILED", *_names]
