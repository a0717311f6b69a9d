"""CPython stand-in for MicroPython's built-in `micropython` module (compile-time helpers only)."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])


def const(value: T) -> T:
    return value


def native(function: F) -> F:
    return function
