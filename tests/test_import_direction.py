"""kb_builder never imports intake_api: the desk builds on the builder, not the other way round.

Every .py under kb_builder/ is parsed, so an import hidden inside a function
(the deferred imports that kept a package cycle alive) counts as well.
"""

import ast

import pytest

from conftest import ROOT

FORBIDDEN = "intake_api"


def imports_of_forbidden(source: str, filename: str = "<test>") -> list[str]:
    """'line N: statement' for each import of intake_api anywhere in the module."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from .. import intake_api` would climb out of kb_builder to the same place.
            names = [node.module] if node.module and node.level == 0 else [a.name for a in node.names] if node.level > 1 else []
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "id", None) == "__import__" or getattr(node.func, "attr", None) == "import_module")):
            names = [node.args[0].value]
        else:
            continue
        if any(n == FORBIDDEN or n.startswith(FORBIDDEN + ".") for n in names):
            found.append(f"line {node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_nothing_under_kb_builder_imports_intake_api():
    files = sorted((ROOT / "kb_builder").rglob("*.py"))
    assert len(files) > 10, "kb_builder/ not found: the test would check nothing"
    problems = [f"{path.relative_to(ROOT)}: {hit}" for path in files
                for hit in imports_of_forbidden(path.read_text(encoding="utf-8"), str(path))]
    assert not problems, ("kb_builder must not import intake_api (register desk commands from intake_api/cli.py "
                          "instead; move shared code down into kb_builder):\n" + "\n".join(problems))


@pytest.mark.parametrize("source", [
    "import intake_api",
    "import intake_api.sla as sla",
    "from intake_api import create_app",
    "from intake_api.db import prepare",
    "def serve():\n    from intake_api.serve import run\n",
    "class A:\n    def f(self):\n        import intake_api.models\n",
    "import importlib\nimportlib.import_module('intake_api.cli')",
    "__import__('intake_api')",
    "from .. import intake_api",
])
def test_the_check_sees_every_spelling_of_the_import(source):
    assert imports_of_forbidden(source)


@pytest.mark.parametrize("source", [
    "import intake_apis",
    "from kb_builder.errors import KbError",
    "from .config import load_config",
    "text = 'intake_api'",
])
def test_the_check_leaves_other_imports_alone(source):
    assert not imports_of_forbidden(source)
