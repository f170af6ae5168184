"""The import graph points one way (see ARCHITECTURE.md): read every module's imports with
``ast`` (module level and inside functions) and fail on a cycle, an import from a lower
layer to a higher one, or an import of our own modules placed inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "diagnose"

#: Lowest first. A module may import its own layer (without a cycle) and the layers below.
#: An entry names a module or a package (everything under it).
LAYERS: list[tuple[str, ...]] = [
    ("diagnose._version", "diagnose._errors", "diagnose._escape", "diagnose._pyparse", "diagnose.run", "diagnose.findings"),
    ("diagnose.readers", "diagnose._suppress"),  # _suppress: diagnose-ignore files in run folders
    ("diagnose.grouping",),  # below features: the group features measure what it groups
    ("diagnose.features",),
    ("diagnose.advice",),  # the next experiment as data: read by rules, filled in by the engine
    ("diagnose.expressions", "diagnose.rules", "diagnose.config"),
    ("diagnose.engine",),
    ("diagnose.rule_cases",),  # a rule's inline cases, run through the engine
    ("diagnose.sweeps",),
    ("diagnose.pipeline",),
    ("diagnose.report", "diagnose._locate"),  # _locate: a finding's line in its log file
    ("diagnose.notebook",),
    ("diagnose.record",),
    ("diagnose.integrations", "diagnose._chapter"),
    ("diagnose.tuner",),
    ("diagnose.cli", "diagnose._cli_check", "diagnose._cli_experiments", "diagnose._cli_plot",
     "diagnose._cli_rules", "diagnose._cli_lint", "diagnose._cli_tune", "diagnose._cli_next",
     "diagnose._progress"),
    ("diagnose",),  # the public facade: __init__.py
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _layer(mod: str) -> int:
    best, depth = None, -1
    for i, names in enumerate(LAYERS):
        for n in names:
            if (mod == n or mod.startswith(n + ".")) and n.count(".") > depth:
                best, depth = i, n.count(".")
    assert best is not None, f"{mod} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    return best


def _target(mod: str, is_pkg: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The modules of ours an import statement loads (deepest existing module)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = mod.split(".") if is_pkg else mod.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            stem = ".".join(base + ([node.module] if node.module else []))
        else:
            stem = node.module or ""
        names = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in MODULES else stem for a in node.names]
    out = []
    for n in names:
        if n != "diagnose" and not n.startswith("diagnose."):
            continue
        while n not in MODULES and "." in n:
            n = n.rsplit(".", 1)[0]
        out.append(n)
    return out


def _imports() -> list[tuple[str, str, bool, int]]:
    """(importer, imported, inside a function, line) for every import of our own modules."""
    edges = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        top: set[int] = set()
        todo: list[ast.AST] = list(tree.body)
        while todo:  # module level, including `if TYPE_CHECKING:` and `try:` blocks there
            n = todo.pop()
            top.add(id(n))
            if isinstance(n, (ast.If, ast.Try, ast.ExceptHandler)):
                for attr in ("body", "orelse", "handlers", "finalbody"):
                    todo.extend(getattr(n, attr, []))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _target(mod, path.name == "__init__.py", node):
                    if t != mod:
                        edges.append((mod, t, id(node) not in top, node.lineno))
    return edges


EDGES = _imports()


def test_every_module_has_a_layer():
    for mod in MODULES:
        _layer(mod)


def test_no_import_points_up():
    up = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)}) at line {n}"
          for a, b, _, n in EDGES if _layer(b) > _layer(a)]
    assert not up, "\n".join(up)


def test_no_lazy_import_of_our_own_modules():
    # optional third-party libraries (torch, matplotlib, pandas, dask) may be imported
    # inside a function; our own modules are imported at the top, where the graph shows them
    lazy = [f"{a}:{n} imports {b} inside a function" for a, b, inside, n in EDGES if inside]
    assert not lazy, "\n".join(lazy)


def test_no_cycle():
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in EDGES:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_checker_sees_lazy_and_upward_imports(tmp_path):
    # the graph reader itself: a function-level import is seen as lazy, a relative import resolved
    tree = ast.parse("from .run import Run\ndef f():\n    from .report import render\n")
    found = [(_target("diagnose.engine", False, n), n.lineno) for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom)]
    assert sorted(found) == [(["diagnose.report"], 3), (["diagnose.run"], 1)]
    assert _layer("diagnose.report.html") > _layer("diagnose.engine") > _layer("diagnose.run")


#: Optional libraries: imported inside the functions that need them, never at module level,
#: so `import diagnose` and `diagnose check` stay light. An integration module is the one
#: place its own framework is imported at the top (importing it means having it).
OPTIONAL = {"torch", "matplotlib", "pandas", "dask", "distributed", "fsspec", "tensorboard",
            "wandb", "lightning", "transformers", "scipy", "mlflow"}


def test_optional_libraries_are_imported_lazily():
    top = []
    for mod, path in MODULES.items():
        if mod.startswith("diagnose.integrations."):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            top += [f"{mod}:{node.lineno} imports {n}" for n in names
                    if n.split(".")[0] in OPTIONAL]
    assert not top, "\n".join(top)
