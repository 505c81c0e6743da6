"""Outside ``bff/seams/``, the BFF uses its libraries' public APIs only.

Checked on the source: no module outside the seam imports a private name
(``from lib import _x``) or a private module of a library, and every ``obj._name`` it reads
names something the BFF itself defines (its own attributes, methods and slots). Code
objects and generator internals are private wherever they appear.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "bff"
SEAM = ROOT / "seams"
#: Private wherever they appear: code objects and generator internals, and undocumented
#: attributes of our libraries that the BFF once used (redis-py's pool, Starlette's
#: websocket state, websockets' parser, Strawberry's back-reference).
FORBIDDEN = {
    "__code__", "gi_code", "gi_yieldfrom", "gi_frame", "cr_frame", "connection_kwargs",
    "application_state", "client_state", "parser_exc", "DEFINITION_BACKREF",
}  # fmt: skip


def sources() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if SEAM not in p.parents]


def own_names(trees: list[ast.Module]) -> set[str]:
    """Every private name the BFF defines: attributes it assigns, methods, slots, fields."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.add(target.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)  # __slots__ entries, getattr names
    return names


def test_no_private_names_of_libraries_outside_the_seam() -> None:
    files = sources()
    trees = [ast.parse(p.read_text(), str(p)) for p in files]
    ours = own_names(trees)
    found: list[str] = []
    for path, tree in zip(files, trees, strict=True):
        where = path.relative_to(ROOT.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith("bff"):
                    parts = node.module.split(".")
                    private = [p for p in parts if p.startswith("_") and p != "__future__"]
                    names = [a.name for a in node.names if a.name.startswith("_")]
                    if private or names:
                        found.append(f"{where}:{node.lineno} from {node.module} import ...")
            elif isinstance(node, ast.Attribute):
                name = node.attr
                if name in FORBIDDEN:
                    found.append(f"{where}:{node.lineno} .{name}")
                elif name.startswith("_") and not name.startswith("__") and name not in ours:
                    found.append(f"{where}:{node.lineno} .{name}")
    assert found == [], "private names used outside bff/seams:\n" + "\n".join(found)
