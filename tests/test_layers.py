"""The layers hold: bench/ and recipes/ scripts import the package only (never tests/ or each other), and the
light install's `evaluate` imports nothing from training. Read from the source (ast), so no script runs here."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted([*(ROOT / "bench").glob("*.py"), *(ROOT / "recipes").glob("*.py")])
# what a script may not reach: another script (by its module name), the tests, or a scripts folder as a package
SIBLINGS = {p.stem for p in SCRIPTS} | {p.stem for p in (ROOT / "tests").glob("*.py")} | {"tests", "bench", "recipes"}
# the repository root, where the package lies: the one folder a script may put on sys.path (to run from a checkout)
ROOT_FORMS = {"Path(__file__).resolve().parent.parent", "Path(__file__).resolve().parents[1]"}
TRAINING = {"data", "train", "gan", "losses", "networks", "_keras", "selection", "zoo", "stages", "tflite_export", "tflite_weights"}


def imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) of every absolute import anywhere in the file, functions included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), []))
    return found


def top_level_names(module: Path) -> set[str]:
    """Names a module defines at its top level (inside if/try blocks too, not inside functions or classes)."""
    names, statements = set(), list(ast.parse(module.read_text()).body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            statements += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                           *(s for handler in getattr(node, "handlers", []) for s in handler.body)]
    return names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_script_imports_the_package_only(script):
    tree = ast.parse(script.read_text(), str(script))
    for module, names in imports(tree):
        assert not module.startswith("."), f"{script.name}: relative import {module}"
        assert module.split(".")[0] not in SIBLINGS, f"{script.name} imports {module}: move what it shares into colorize_cli"
        if module.split(".")[0] != "colorize_cli":
            continue
        # what it takes from the package is there (a moved helper leaves no dangling import behind)
        parts = module.split(".")[1:]
        target = ROOT / "colorize_cli" / Path(*parts) if parts else ROOT / "colorize_cli"
        path = target.with_suffix(".py") if parts else target / "__init__.py"
        assert path.is_file(), f"{script.name} imports {module}: no such module"
        for name in names:
            if not parts and (ROOT / "colorize_cli" / f"{name}.py").is_file():
                continue  # `from colorize_cli import module`
            assert name in top_level_names(path), f"{script.name}: {module} has no {name}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_script_puts_only_the_repository_root_on_sys_path(script):
    tree = ast.parse(script.read_text(), str(script))
    roots = {ast.unparse(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "ROOT" for t in node.targets)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):  # sys.path = ..., sys.path[:0] = ..., sys.path += ...
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assert not any("sys.path" in ast.unparse(t) for t in targets), f"{script.name}: assigns sys.path"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "sys.path":
            assert node.func.attr in ("insert", "append"), f"{script.name}: sys.path.{node.func.attr}"
            assert ast.unparse(node.args[-1]) == "str(ROOT)", f"{script.name} puts {ast.unparse(node.args[-1])} on sys.path"
            assert roots and roots <= ROOT_FORMS, f"{script.name}: ROOT is {roots}, not the repository root"


def test_evaluate_and_the_measuring_helpers_import_nothing_from_training():
    """evaluate is part of the light install (`colorize eval` runs on LiteRT): no training module, no TensorFlow.
    measure, selection and zoo (what the scripts share) import TensorFlow only when a function needs it."""
    code = ("import sys\n"
            "import colorize_cli.evaluate\n"
            "print(sorted(m for m in sys.modules if m.startswith('colorize_cli.')))\n"
            "import colorize_cli.measure, colorize_cli.selection, colorize_cli.zoo\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'av', 'skimage', 'matplotlib'}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded, heavy = (ast.literal_eval(line) for line in done.stdout.splitlines())
    assert "colorize_cli.evaluate" in loaded
    assert not {m.split(".")[1] for m in loaded} & TRAINING, loaded
    assert heavy == [], f"imported at import time: {heavy}"


# The test modules that are about TensorFlow (trainings, networks, losses, the semantic encoder): every test in them
# needs it, so they may import it at collection. Every other module leaves it to the tests that run a Keras model.
TENSORFLOW_MODULES = {"test_aids", "test_losses", "test_networks", "test_semantic", "test_train"}
TESTS = sorted((ROOT / "tests").glob("test_*.py"))


@pytest.mark.parametrize("module", TESTS, ids=lambda p: p.name)
def test_a_test_module_takes_its_helpers_from_conftest_not_from_another_test(module):
    others = {p.stem for p in TESTS} | {"tests"}
    for name, _ in imports(ast.parse(module.read_text(), str(module))):
        assert name.split(".")[0] not in others, f"{module.name} imports {name}: shared helpers live in conftest.py"


def test_collecting_the_tests_of_the_light_parts_imports_no_tensorflow():
    light = [p.stem for p in TESTS if p.stem not in TENSORFLOW_MODULES]
    code = (f"import sys\nsys.path.insert(0, 'tests')\nfor name in {light!r}:\n    __import__(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras'}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[]", f"importing the test modules of the light parts imported {done.stdout}"
