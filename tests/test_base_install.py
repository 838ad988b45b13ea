"""A plain `pip install -e .` works: what the package imports is what pyproject.toml declares.

Two checks. A static one, here: every third-party package that a module imports at module level comes with the
base install (the requirement closure of `lerobot_policy_actioncodec` without extras). A real one: the base
environment that scripts/test.sh builds (.venv-base, no extras) runs scripts/check_base_install.py.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lerobot_actioncodec"
DISTRIBUTION = "lerobot_policy_actioncodec"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_closure(distribution: str) -> set[str]:
    """Canonical names of the distributions that installing `distribution` (no extras) brings, itself included."""
    seen: set[str] = set()
    pending = [(distribution, frozenset())]
    while pending:
        name, extras = pending.pop()
        key = (canonical(name), extras)
        if key in seen:
            continue
        seen.add(key)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def module_level_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports a module runs when it is imported (not inside functions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_requirement_closure_follows_extras_and_markers():
    closure = requirement_closure(DISTRIBUTION)
    assert {"lerobot", "torch", "vector-quantize-pytorch", "accelerate", "transformers", "peft"} <= closure
    assert "metaworld" not in closure and "pytest" not in closure  # extras stay out


def test_every_module_level_import_is_declared():
    closure = requirement_closure(DISTRIBUTION)
    providers = importlib.metadata.packages_distributions()
    undeclared = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in module_level_imports(path):
            if name in sys.stdlib_module_names or name in ("lerobot_actioncodec", "__future__"):
                continue
            dists = {canonical(d) for d in providers.get(name, [])}
            if not dists & closure:
                undeclared[f"{path.relative_to(ROOT)}: import {name}"] = sorted(dists) or "not installed"
    assert not undeclared, f"imported at module level but not in the base install's requirements: {undeclared}"


def test_the_static_check_sees_an_undeclared_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import pytest\nfrom metaworld import envs\ndef f():\n    import mujoco\n")
    assert module_level_imports(module) == {"pytest", "metaworld"}


@pytest.mark.slow
def test_base_environment_imports_runs_the_readme_example_and_lerobot_train():
    python = os.environ.get("ACTIONCODEC_BASE_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("ACTIONCODEC_BASE_PYTHON is not set: CI must run the suite through scripts/test.sh")
        pytest.skip("needs the base environment that scripts/test.sh builds (ACTIONCODEC_BASE_PYTHON)")
    extras = subprocess.run([python, "-c", "import pytest"], capture_output=True)
    assert extras.returncode != 0, f"{python} has the test extra installed: it is not a base environment"
    proc = subprocess.run([python, str(ROOT / "scripts" / "check_base_install.py")], capture_output=True, text=True,
                          timeout=1200)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "README example ran" in proc.stdout
