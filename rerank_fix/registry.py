"""Named registries: one string-keyed table per kind of component (stage, stratifier, scorer backend ...).

A backend registers itself in the file that defines it, so adding one is a one-file change:

    >>> from rerank_fix.registry import Registry
    >>> colours = Registry("colour")
    >>> @colours.register("red")
    ... class Red:
    ...     pass
    >>> colours.get("red") is Red
    True
    >>> colours.names()
    ['red']

Unknown names raise :class:`~rerank_fix.errors.ConfigError` listing the choices.
"""
from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, TypeVar

from rerank_fix.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A string-keyed table of components of one kind.

    Args:
        kind: What the entries are, for error messages (``"scorer backend"``).
        modules: Modules imported on first lookup, so built-in entries register themselves lazily
            (heavy dependencies are imported only when their backend is used).
    """

    def __init__(self, kind: str, modules: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._modules = modules
        self._loaded = not modules
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return decorator

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                importlib.import_module(module)

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
