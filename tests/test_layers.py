"""The package's layers, read from the imports of every module (docs/architecture.md).

A module imports only from layers below it or from its own subpackage; ``world``, ``analysis`` and
``market`` never import each other (the world and the analyses meet only in the event log); no module
imports another module's ``_private`` name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "adoption"

#: Rank of each part of the package, bottom to top. Parts of the same rank are peers: neither imports the other.
LAYERS: dict[str, float] = {
    "adoption.errors": 0, "adoption.text": 0, "adoption.processes": 0, "adoption.lazy": 0, "adoption.version": 0,
    "adoption.interpret": 0,  # what numbers mean, in sentences: pure functions of numbers
    "adoption.arrays": 0,  # array routines shared by the world and the analyses
    "adoption.intervals": 0,  # normal (Wald) intervals: one 95% quantile for every module
    "adoption.random": 0.5,  # seeds; raises the foundation's ParameterError
    "adoption.tasks": 0.5,  # independent tasks on processes or Dask; raises the foundation's UsageError
    "adoption.log": 1,
    "adoption.datasets": 2,
    "adoption.world": 3, "adoption.analysis": 3, "adoption.market": 3,
    "adoption.plotting": 4, "adoption.notebook": 4,  # figures and what a report notebook shows
    "adoption.reports": 5, "adoption.sweep": 5, "adoption.calibrate": 5, "adoption.tipping": 5,
    "adoption.cli": 6,
    "adoption": 7, "adoption.__main__": 7,
}


def _module_name(path: Path) -> str:
    parts = ["adoption", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The layer part a module belongs to: its longest prefix in LAYERS."""
    pieces = module.split(".")
    for n in range(len(pieces), 0, -1):
        prefix = ".".join(pieces[:n])
        if prefix in LAYERS:
            return prefix
    raise AssertionError(f"{module} belongs to no layer; add it to LAYERS and docs/architecture.md")


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Every import of ``adoption`` in the file (at any depth): (module, names imported from it, line)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "adoption"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "adoption":
            found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append(("." * node.level + (node.module or ""), [a.name for a in node.names], node.lineno))
    return found


MODULES = sorted(SRC.rglob("*.py"))


def _violations() -> list[str]:
    problems = []
    for path in MODULES:
        name = _module_name(path)
        mine = _part(name)
        for target, names, line in _imports(path):
            where = f"{path.relative_to(SRC.parent)}:{line}"
            if target.startswith("."):
                problems.append(f"{where}: relative import {target}; use the absolute name")
                continue
            # `from adoption import x` where x is a submodule means that submodule
            targets = [f"{target}.{n}" if target == "adoption" and n in {"plotting", "market"} else target
                       for n in names] or [target]
            for full in targets:
                theirs = _part(full)
                if theirs == mine:
                    continue
                if LAYERS[theirs] > LAYERS[mine]:
                    problems.append(f"{where}: {name} (layer {LAYERS[mine]}) imports {full} from the layer above "
                                    f"({LAYERS[theirs]})")
                elif LAYERS[theirs] == LAYERS[mine]:
                    problems.append(f"{where}: {name} imports its peer {full}; peers meet only through a lower layer")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != name:
                problems.append(f"{where}: {name} imports the private {', '.join(private)} of {target}")
    return problems


def test_every_module_belongs_to_a_layer():
    for path in MODULES:
        _part(_module_name(path))


def test_no_module_imports_a_layer_above_or_a_peer_or_a_private_name():
    assert _violations() == []


def test_world_and_analysis_never_import_each_other():
    crossing = [f"{p.relative_to(SRC)} imports {t}" for p in MODULES
                for t, _, _ in _imports(p)
                if {_part(_module_name(p)), _part(t)} == {"adoption.world", "adoption.analysis"}]
    assert crossing == []


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """The rule is not vacuous: an upward import, a peer import and a private import are each caught."""
    bad = SRC / "log" / "zz_layer_probe.py"
    monkeypatch.setattr(sys.modules[__name__], "MODULES", [bad])
    bad_text = ("from adoption.analysis.activation import activation_table\n"
                "from adoption.world.scenario import Scenario\n"
                "from adoption.log.eventlog import _missing_problem\n")
    original = _imports
    monkeypatch.setattr(sys.modules[__name__], "_imports",
                        lambda p: [(t, n, i + 1) for i, (t, n) in enumerate(
                            (node.module, [a.name for a in node.names]) for node in ast.parse(bad_text).body)]
                        if p == bad else original(p))
    found = _violations()
    assert len(found) == 3, found


@pytest.mark.parametrize("command", [
    "import adoption, sys; print('pandas' in sys.modules or 'numpy' in sys.modules)",
    "import adoption.cli, sys; print('pandas' in sys.modules or 'numpy' in sys.modules)",
    "import adoption.log.contract, adoption.world, adoption.analysis, sys; print('pandas' in sys.modules)",
])
def test_importing_the_package_and_the_cli_loads_no_scientific_library(command):
    out = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_exported_function_keeps_its_name_when_its_module_of_the_same_name_is_imported():
    """``adoption.world.simulate`` is a function in the module ``adoption.world.simulate``: importing the
    module first (any other function of it) must not bind the package's name to the module."""
    command = ("from adoption.world import simulate_states\nimport adoption.world.simulate\n"
               "from adoption.world import simulate\nimport sys, importlib\n"
               "print(callable(simulate), importlib.import_module('adoption.world.simulate') is sys.modules['adoption.world.simulate'])")
    out = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_help_version_and_usage_errors_load_no_scientific_library():
    probe = ("import sys, runpy\n"
             "from adoption.cli import main\n"
             "for argv in (['--help'], ['--version'], ['simulate', '--users', 'x'], ['activation', '--help']):\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "print('LOADED', sorted(m for m in ('pandas', 'numpy', 'scipy', 'sklearn', 'lifelines') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_python_dash_m_adoption_works():
    out = subprocess.run([sys.executable, "-m", "adoption", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("adoption ")
