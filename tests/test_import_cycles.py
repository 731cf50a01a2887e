"""No import cycle in the project's packages (modules, type-checking imports included): a cycle is named
with the lines that make it, so the failure says what to move."""

from __future__ import annotations

import grimp

PACKAGES = ("skybase", "skymist", "skyscan", "scanner_client")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself), each
    sorted; found with Tarjan's algorithm, iteratively (no recursion limit on deep graphs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, todo = work[-1]
            if todo:
                target = todo.pop()
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, sorted(graph.find_modules_directly_imported_by(target))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or graph.direct_import_exists(importer=module, imported=module):
                    cycles.append(sorted(component))
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    """``a -> b (l.12)`` for every import inside the cycle."""
    members = set(cycle)
    lines = []
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"l.{detail['line_number']}" for detail in details)
            lines.append(f"  {importer} -> {imported} ({where})")
    return "\n".join(lines)


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    cycles = import_cycles(graph)
    report = "\n".join(f"cycle of {len(cycle)} modules:\n{describe(graph, cycle)}" for cycle in cycles)
    assert not cycles, f"import cycles in {', '.join(PACKAGES)}:\n{report}"


def test_the_cycle_finder_finds_a_cycle_and_names_its_imports() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("p.a", "p.b"),
        ("p.b", "p.c"),
        ("p.c", "p.a"),
        ("p.c", "p.d"),
        ("p.e", "p.e"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=7, line_contents="import x")
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"], ["p.e"]]
    assert describe(graph, ["p.a", "p.b", "p.c"]).splitlines() == [
        "  p.a -> p.b (l.7)",
        "  p.b -> p.c (l.7)",
        "  p.c -> p.a (l.7)",
    ]
