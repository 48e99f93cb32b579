"""Caches of what is built per model (sub-models, compiled functions, plans) whose entries leave
with the model: `forget(model)` drops every entry built from it, in every `per_model` cache.

`functools.lru_cache` would keep a student's uploaded model alive after the server's registry of
uploads (`explain.custom.ModelRegistry`) dropped it, until 32 newer entries pushed it out. Weak keys
cannot do it either: the cached values (a sub-model of its layers, a `tf.function` calling it) hold
the model themselves, so a weak key would never die. So the registry calls `forget` when it drops a
model, and the entries (with the last references to it) go at once.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import update_wrapper

_CACHES: weakref.WeakSet[ModelCache] = weakref.WeakSet()


def _holds(key: Hashable, model: object) -> bool:
    """Whether `model` is one of the arguments in `key` (or in a tuple among them)."""
    return any(part is model or isinstance(part, tuple) and _holds(part, model) for part in key)


class ModelCache:
    """`fn`'s results by its (hashable) arguments, the `maxsize` most recently used ones kept."""

    def __init__(self, fn: Callable, maxsize: int):
        self.fn, self.maxsize = fn, maxsize
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        update_wrapper(self, fn)
        _CACHES.add(self)

    def __call__(self, *args):
        with self._lock:
            if args in self._entries:
                self._entries.move_to_end(args)
                return self._entries[args]
        value = self.fn(*args)      # outside the lock: building may take seconds (callers lock if they must)
        with self._lock:
            self._entries[args] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def forget(self, model: object) -> None:
        with self._lock:
            for key in [key for key in self._entries if _holds(key, model)]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def per_model(maxsize: int) -> Callable[[Callable], ModelCache]:
    """Decorator: like `functools.lru_cache(maxsize)`, for functions of models, with `forget`."""
    return lambda fn: ModelCache(fn, maxsize)


def forget(model: object) -> None:
    """Drop everything any `per_model` cache built from `model`."""
    for cache in list(_CACHES):
        cache.forget(model)
