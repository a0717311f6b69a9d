# pyright: basic
"""CPython stand-in for MicroPython's built-in `micropython` module (compile-time helpers only).

Under MicroPython the built-in module wins, so this file is never used there."""

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])


def const(value: T) -> T:
    return value


def native(function: F) -> F:
    return function
