"""The test suite's own layout: test modules, conftest files and the support
package import shared machinery from ``tests.support`` only, never from a test
module or a conftest (which would run its fixtures and tests twice under two
names, and ties unrelated tests together)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# what no file under tests/ may import: other test modules and conftest files
FORBIDDEN = ("tests.conftest", "tests.unit", "tests.integration", "tests.e2e")
FORBIDDEN_PREFIXES = tuple(name + "." for name in FORBIDDEN)


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, list[str]]]:
    """Each import statement of ``path`` (anywhere in the file, relative imports
    resolved) with the modules it may load: for ``from X import a``, ``X`` and
    then ``X.a``, since ``a`` may be a module."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) - (node.level - 1)], *filter(None, [base])])
            found.append((node.lineno, [base, *(f"{base}.{a.name}" for a in node.names)]))
    return found


def checked_files(root: Path) -> list[Path]:
    """Test modules, conftest files and the support package."""
    return sorted(path for path in root.rglob("*.py")
                  if path.name.startswith("test_") or path.name == "conftest.py"
                  or "support" in path.relative_to(root).parts)


def violations(root: Path) -> list[str]:
    found = []
    for path in checked_files(root):
        for line, modules in imported_modules(path, root):
            bad = [m for m in modules if m in FORBIDDEN or m.startswith(FORBIDDEN_PREFIXES)]
            if bad:
                found.append(f"{path.relative_to(root.parent)}:{line} imports {bad[0]}")
    return found


def test_tests_import_shared_machinery_from_tests_support_only():
    assert violations(TESTS) == []


def test_the_check_sees_every_kind_of_forbidden_import(tmp_path):
    root = tmp_path / "tests"
    (root / "integration").mkdir(parents=True)
    (root / "e2e").mkdir()
    (root / "support").mkdir()
    (root / "integration" / "test_a.py").write_text(
        "from tests.conftest import ISSUER\n"
        "from tests.integration.test_b import obtain\n"
        "def test_x():\n    from tests.e2e import conftest\n")
    (root / "e2e" / "conftest.py").write_text("from .test_c import helper\nimport tests.unit.x\n")
    (root / "e2e" / "test_d.py").write_text("from . import conftest\n")
    (root / "support" / "flows.py").write_text("from tests.integration import test_b\n")
    (root / "integration" / "test_fine.py").write_text(
        "from tests.support.flows import obtain\nimport provider\n")
    (root / "support" / "forms.py").write_text("from tests import conftest\n")
    assert sorted(violations(root)) == [
        "tests/e2e/conftest.py:1 imports tests.e2e.test_c",
        "tests/e2e/conftest.py:2 imports tests.unit.x",
        "tests/e2e/test_d.py:1 imports tests.e2e",
        "tests/integration/test_a.py:1 imports tests.conftest",
        "tests/integration/test_a.py:2 imports tests.integration.test_b",
        "tests/integration/test_a.py:4 imports tests.e2e",
        "tests/support/flows.py:1 imports tests.integration",
        "tests/support/forms.py:1 imports tests.conftest",
    ]
