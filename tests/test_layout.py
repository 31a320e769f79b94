"""The layout of tests/ itself (issue 8, item 9).

- Helpers are fixtures in conftest.py files, which pytest loads: no file under
  tests/ imports another one (nor `tests` itself), and there are no helper
  modules, only `test_*.py`, `conftest.py` and `__init__.py`.
- tests/ mirrors the house: one test package per app of the project, named like
  it; below an app, a test package is named after a package or module of that
  app (tests/investments/payments/ for investments/payments/). Two test
  packages belong to no single app: tests/e2e/ (the browser journeys) and
  tests/web/ (the site's pages, from templates/, which several apps' views serve).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
ACROSS_APPS = {"e2e", "web"}  # test packages that belong to no single app
THE_HOUSE = {"bondplatform", "people", "issuers", "ledger", "compliance", "investments"}


def imports_of_tests(source: str) -> list[str]:
    """Every way `source` imports something from the `tests` package: `import tests...`,
    `from tests... import`, relative imports, and importlib/__import__ with a literal name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "tests"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append("." * node.level + (node.module or ""))
            elif node.module and node.module.split(".")[0] == "tests":
                found.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = ast.unparse(node.func)
            name = node.args[0].value
            if called in {"import_module", "importlib.import_module", "__import__"} and str(name).startswith(
                ("tests", ".")
            ):
                found.append(str(name))
    return found


def python_files() -> list[Path]:
    return sorted(path for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts)


def project_apps() -> dict[str, Path]:
    """The project's own Django apps (top-level packages of this repository), by name."""
    return {
        config.name: Path(config.path)
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == ROOT
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tests.conftest import client_for", ["tests.conftest"]),
        ("from tests.investments.bonds import make_issue", ["tests.investments.bonds"]),
        ("import tests.ledger.ledger_helpers as helpers", ["tests.ledger.ledger_helpers"]),
        ("from tests import conftest", ["tests"]),
        (
            "def test_x():\n    from tests.e2e.test_resident_journey import sign_in",
            ["tests.e2e.test_resident_journey"],
        ),
        ("from .conftest import make_issue", [".conftest"]),
        ("from . import bonds", ["."]),
        ("import importlib\nimportlib.import_module('tests.ledger.conftest')", ["tests.ledger.conftest"]),
        ("from ledger.models import LedgerEntry\nimport testsuite\nfrom testing import x", []),
    ],
)
def test_the_guard_sees_every_kind_of_import_of_a_test_module(source, expected):
    assert imports_of_tests(source) == expected


def test_no_file_under_tests_imports_another():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in python_files()
        if (found := imports_of_tests(path.read_text()))
    }
    assert not offenders, (
        "Test modules and conftests must not import from tests/: make the helper a fixture in the "
        f"nearest conftest.py that all its users can see. Found: {offenders}"
    )


def test_there_are_no_helper_modules():
    helpers = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if path.name not in {"conftest.py", "__init__.py"} and not path.name.startswith("test_")
    ]
    assert not helpers, f"Helpers belong in conftest.py as fixtures, not in modules of their own: {helpers}"


def test_every_test_directory_is_a_package():
    directories = {path.parent for path in python_files()}
    missing = [str(d.relative_to(ROOT)) for d in sorted(directories) if not (d / "__init__.py").exists()]
    assert not missing, f"no __init__.py (modules of the same name in two apps would collide): {missing}"


def test_the_house_is_what_this_test_expects():
    assert set(project_apps()) == THE_HOUSE


@pytest.mark.parametrize("app", sorted(THE_HOUSE))
def test_every_app_has_its_test_package(app):
    assert (TESTS / app / "__init__.py").is_file(), f"tests/{app}/ mirrors the app {app}/"


def test_every_test_package_mirrors_the_code():
    code = project_apps()
    strays = []
    for init in sorted(TESTS.rglob("__init__.py")):
        package = init.parent.relative_to(TESTS)
        if not package.parts or package.parts[0] in ACROSS_APPS:
            continue
        app, *below = package.parts
        if app not in code:
            strays.append(f"tests/{package}/ (no app {app})")
        elif below:
            names = {p.stem for p in code[app].rglob("*.py")} | {
                p.name for p in code[app].rglob("*") if p.is_dir()
            }
            strays += [
                f"tests/{package}/ (nothing named {part} in {app}/)" for part in below if part not in names
            ]
    assert not strays, f"test packages that mirror nothing: {strays}"
