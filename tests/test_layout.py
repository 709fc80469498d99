"""The package's layout rules: torch only where it belongs, no import cycles."""
import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[1] / "mcr_spacy"
# The only modules (and packages) that may import torch: the torch module and
# its helpers, the component that calls them, and the image encoders.
TORCH_ALLOWED = ("mcr_spacy.ml.torch", "mcr_spacy.pipeline.component", "mcr_spacy.vision")


def _modules() -> Dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path) -> List[str]:
    """Every module named by an import anywhere in the file (function-level
    imports included), as absolute names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {
        name: {dep for dep in _imports(name, path) if dep in modules and dep != name}
        for name, path in modules.items()
    }


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle of the graph as a list of modules, or [] when there is none."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_find_cycle_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    """Import-time and function-level imports together: a package whose modules
    form a cycle only works through import order."""
    graph = import_graph()
    # A package's __init__ re-exports its modules; importing a module always
    # runs its package's __init__ first, so edges into a package are not cycles
    # of the code: leave them out.
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    graph = {name: {dep for dep in deps if dep not in packages} for name, deps in graph.items()}
    cycle = find_cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_torch_only_in_its_folders():
    offenders = []
    for name, path in _modules().items():
        if any(name == allowed or name.startswith(allowed + ".") for allowed in TORCH_ALLOWED):
            continue
        if any(dep == "torch" or dep.startswith("torch.") for dep in _imports(name, path)):
            offenders.append(name)
    assert not offenders, f"modules outside {TORCH_ALLOWED} import torch: {offenders}"
