"""Repository functions whose SQL each backend writes in its own dialect.

A repository module (storage/app_state.py) declares such a function once, with its signature and
docstring, under `@per_backend`; storage/sqlite/app_state.py and storage/postgres/app_state.py
register the implementations for their database type. A caller holds a `Database` and calls the
declared function: the database's type picks the SQL, so no caller ever asks which backend it is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class per_backend(Generic[P, R]):  # noqa: N801 - used as a decorator, named like one
    """Dispatch on the type of the first argument (the database), keeping the declared signature
    for type checkers. The declared body never runs: a database type without an implementation
    is a bug, reported as such."""

    def __init__(self, declared: Callable[P, R]) -> None:
        self._declared = declared
        self._dispatch = functools.singledispatch(self._missing)
        functools.update_wrapper(self, declared)

    def _missing(self, db: object, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self._declared.__module__}.{self._declared.__qualname__} has no "
                                  f"implementation for {type(db).__name__}")

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._dispatch(*args, **kwargs)  # type: ignore[no-any-return]

    def register(self, backend: type) -> Callable[[Callable[..., R]], Callable[..., R]]:
        """Decorate the implementation for databases of type `backend`."""
        def register(implementation: Callable[..., R]) -> Callable[..., R]:
            self._dispatch.register(backend, implementation)
            return implementation
        return register
