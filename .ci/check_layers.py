#!/usr/bin/env python3
"""Fails when the top-level modules of the extension crate depend on each other in a cycle.

ARCHITECTURE.md draws the crate as layers: each top-level module of `src/` (a file, or a
folder with its files) may use only the modules below it.  This script reads every `crate::x`
path in each module's files, builds the graph between the top-level modules, and exits with an
error naming the cycle if there is one.  It also prints the order it found, lowest first.

Usage: python3 .ci/check_layers.py [src-dir]
"""

import pathlib
import re
import sys

CRATE_PATH = re.compile(r"\bcrate::(\{[^}]*\}|\w+)")


def top_level_module(src, path):
    relative = path.relative_to(src)
    return relative.parts[0].removesuffix(".rs")


def dependencies(src):
    graph = {}
    for path in sorted(src.rglob("*.rs")):
        module = top_level_module(src, path)
        if module == "lib":  # the crate root declares the modules; it is above them all
            continue
        uses = graph.setdefault(module, set())
        text = path.read_text()
        for match in CRATE_PATH.finditer(text):
            group = match.group(1)
            names = re.findall(r"\w+", group) if group.startswith("{") else [group]
            for name in names:
                is_module = (src / f"{name}.rs").exists() or (src / name).is_dir()
                if is_module and name != module:
                    uses.add(name)
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle, or None; also returns a topological order."""
    state, order, stack = {}, [], []

    def visit(node):
        state[node] = "active"
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "active":
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        order.append(node)
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle, order
    return None, order


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    graph = dependencies(src)
    cycle, order = find_cycle(graph)
    if cycle:
        print("error: the top-level modules of the crate depend on each other in a cycle:")
        print("  " + " -> ".join(cycle))
        for node in cycle[:-1]:
            print(f"  {node} uses: {', '.join(sorted(graph[node]))}")
        return 1
    print("layers, lowest first:")
    for module in order:
        uses = ", ".join(sorted(graph.get(module, ()))) or "-"
        print(f"  {module:14} uses {uses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
