"""The package's layering, as listed in rerank_fix/__init__.py's docstring, holds for every import.

Every module's imports are read with ``ast`` (imports inside functions and under TYPE_CHECKING count too):
a module may import from its own layer or a lower one, and the import graph between modules has no circle.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import rerank_fix

PACKAGE = Path(rerank_fix.__file__).parent


def layer_lines(doc: str | None = rerank_fix.__doc__) -> list[tuple[str, list[str]]]:
    """``[(layer name, members), ...]`` lowest first, from the ``name: members`` lines after the ``::``."""
    block = (doc or "").split("::", 1)[1]
    return [(name.strip(), members.split()) for name, members in
            (ln.split(":", 1) for ln in block.splitlines() if re.match(r"^\s+[a-z_]+:\s", ln))]


def declared_layers(doc: str | None = rerank_fix.__doc__) -> dict[str, int]:
    """``package or top-level module -> layer index``."""
    return {member: index for index, (_, members) in enumerate(layer_lines(doc)) for member in members}


def module_names(root: Path = PACKAGE) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = ["rerank_fix", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """``module -> {imported module: line}`` for imports of rerank_fix modules (relative ones resolved)."""

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target == "rerank_fix" or target.startswith("rerank_fix."):
                    found = resolve(target)
                    if found and found != name:
                        edges.setdefault(found, node.lineno)
        graph[name] = edges
    return graph


def layer_of(module: str, layers: dict[str, int]) -> int | None:
    if module.rsplit(".", 1)[-1] == "__main__" or module == "rerank_fix":
        return max(layers.values())  # entry points and the package's lazy re-exports sit on top
    return layers.get(module.split(".")[1])


def layering_violations(graph: dict[str, dict[str, int]], layers: dict[str, int],
                        modules: dict[str, Path]) -> list[str]:
    names = {index: name for index, (name, _) in enumerate(layer_lines())}
    problems = []
    for module, edges in sorted(graph.items()):
        mine = layer_of(module, layers)
        where = modules[module].relative_to(modules[module].parents[len(module.split(".")) - 1])
        if mine is None:
            problems.append(f"{where}: package {module.split('.')[1]!r} is in no layer; "
                            "add it to the list in rerank_fix/__init__.py")
            continue
        for target, line in sorted(edges.items()):
            theirs = layer_of(target, layers)
            if theirs is not None and theirs > mine:
                problems.append(f"{where}:{line}: {module} (layer {names.get(mine, 'top')}) imports {target} "
                                f"(layer {names.get(theirs, 'top')}), a higher layer")
    return problems


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_layers_are_declared():
    layers = declared_layers()
    assert layers["core"] == 0 and layers["cli"] == max(layers.values())
    assert layers["retrieve"] < layers["evaluate"] < layers["report"]


def test_no_import_from_a_higher_layer():
    modules = module_names()
    problems = layering_violations(import_graph(modules), declared_layers(), modules)
    assert not problems, "imports against the layering:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles(import_graph(module_names()))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_an_upward_import_inside_a_function(tmp_path):
    package = tmp_path / "rerank_fix"
    (package / "core").mkdir(parents=True)
    (package / "report").mkdir()
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("def f():\n    from rerank_fix.report import x\n")
    (package / "report" / "__init__.py").write_text("from rerank_fix.core import f\n")
    modules = module_names(package)
    graph = import_graph(modules)
    layers = {"core": 0, "report": 1}
    assert any("rerank_fix.core (layer core) imports rerank_fix.report" in p for p in layering_violations(graph, layers, modules))
    assert import_cycles(graph) == [["rerank_fix.core", "rerank_fix.report"]]
