"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists where each public name lives; the module is imported on first use of the name. So
``import adoption`` and the command line's ``--help`` load no scientific library, and a light module
(the contract, a scenario) can be imported without pulling in pandas through its package.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import Any


class _LazyPackage(ModuleType):
    """A package whose exported name is also the name of one of its modules (the function
    ``adoption.world.simulate`` lives in the module ``adoption.world.simulate``): importing the module would
    bind its name in the package to the module, so that ``from adoption.world import simulate`` gave the module
    once anything had imported it; the name is bound to the export instead (``sys.modules`` keeps the module)."""

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("__lazy_exports__", {})
        if (isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
                and exports.get(name) == value.__name__ and hasattr(value, name)):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` that import each name of ``exports`` on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict
        Public name -> the module (absolute) that defines it.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"})
    >>> getattr_("sqrt")(9.0), "sqrt" in dir_()
    (3.0, True)
    """
    import sys

    namespace = sys.modules.get(package)
    if namespace is not None and any(module == f"{package}.{name}" for name, module in exports.items()):
        namespace.__lazy_exports__ = exports  # type: ignore[attr-defined]
        namespace.__class__ = _LazyPackage

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace = sys.modules.get(package)
        if namespace is not None:
            setattr(namespace, name, value)
        return value

    def __dir__() -> list[str]:
        namespace = sys.modules.get(package)
        known = set(vars(namespace)) if namespace is not None else set()
        return sorted(known | set(exports))

    return __getattr__, __dir__
