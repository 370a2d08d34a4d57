"""``NAME=WEIGHT,NAME=WEIGHT`` mixes and picking from them. Pure."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


def parse_weights(text: str) -> dict[str, int]:
    """``"FR=5,GB=3,IN"`` -> ``{"FR": 5, "GB": 3, "IN": 1}`` (a bare name weighs 1).

    Raises ValueError with the reason: an empty mix, a repeated name, a weight that is not
    a positive integer.
    """
    weights: dict[str, int] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not name:
            raise ValueError(f"empty name in {text!r}")
        if name in weights:
            raise ValueError(f"{name} given twice in {text!r}")
        try:
            weight = int(value) if sep else 1
        except ValueError:
            raise ValueError(f"weight of {name} is not an integer: {value!r}") from None
        if weight <= 0:
            raise ValueError(f"weight of {name} must be positive, not {weight}")
        weights[name] = weight
    return weights


class WeightedPick(Generic[T]):
    """Picks one of ``items`` with probability proportional to its weight.

    One ``random()`` and one bisect per pick: ``random.choices`` re-accumulates the
    weights on every call unless given cumulative weights, this keeps them.
    """

    __slots__ = ("_cumulative", "_items", "_rng", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[int], rng: random.Random) -> None:
        if not items or len(items) != len(weights):
            raise ValueError("a pick needs as many weights as items, and at least one item")
        self._items = tuple(items)
        self._cumulative = tuple(accumulate(weights))
        self._total = self._cumulative[-1]
        self._rng = rng

    def __call__(self) -> T:
        """One item."""
        if len(self._items) == 1:
            return self._items[0]
        index = bisect_right(self._cumulative, self._rng.random() * self._total)
        return self._items[min(index, len(self._items) - 1)]


__all__ = ["WeightedPick", "parse_weights"]
