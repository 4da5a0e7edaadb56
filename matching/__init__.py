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

        _compiled = {name: getattr(_native, name) for name in _names}
    except (ImportError, AttributeError):
        # Not built, or built from older sources that lack a name (the tests refuse that).
        pass
    else:
        globals().update(_compiled)
        COMPILED = True

__all__ = ["COMPILED", *_names]
