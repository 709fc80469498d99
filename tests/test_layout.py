"""The package's layout rules: torch only where it belongs, no import cycles."""
import ast
import re
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

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


# Modules allowed over MAX_LINES, each with its one job.
MAX_LINES = 500
ONE_JOB_MODULES: Dict[str, str] = {
    "mcr_spacy.pipeline.component": "the factory, the component class and its serialisation, "
    "as each of spaCy's own components keeps them in one module",
}
MIN_DUPLICATE_LINES = 6


def test_modules_are_short_or_have_one_job():
    long = {
        name: n for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf8").splitlines())) > MAX_LINES and name not in ONE_JOB_MODULES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def _code_lines(path: Path) -> List[Tuple[int, str]]:
    """(line number, text) of the lines that carry code: blank lines, comments,
    imports and lone brackets are passed over, white space is folded."""
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        text = " ".join(line.split())
        if not text or text.startswith("#") or text.startswith(("import ", "from ")):
            continue
        if all(ch in "()[]{},:;" for ch in text):
            continue
        lines.append((number, text))
    return lines


# A parameter declaration ("name: type = default,"), a bare "*," or the closing
# "-> type:" of a signature: parallel functions (two readers of two formats)
# rightly share a parameter list; what must not repeat is logic.
SIGNATURE_LINE = re.compile(r"^(\*,|\*\*?\w+(: [^=]+)?,?|\w+: [^=]+( = .+)?,|\) -> .+:)$")


def _is_signature(block: Sequence[str]) -> bool:
    return all(SIGNATURE_LINE.match(text) for text in block)


def find_duplicate_blocks(
    paths: Sequence[Path], root: Path = PACKAGE, size: int = MIN_DUPLICATE_LINES
) -> List[Tuple[str, str]]:
    """Pairs of places ("file:line", relative to `root`) that share `size`
    consecutive code lines; a longer shared run is reported once."""
    seen: Dict[Tuple[str, ...], Tuple[Path, int, int]] = {}
    found = []
    for path in paths:
        lines = _code_lines(path)
        for i in range(len(lines) - size + 1):
            key = tuple(text for _, text in lines[i:i + size])
            if _is_signature(key):
                continue
            first_line, last_line = lines[i][0], lines[i + size - 1][0]
            if key not in seen:
                seen[key] = (path, first_line, last_line)
                continue
            other, other_first, other_last = seen[key]
            if other == path and first_line <= other_last:
                continue  # an overlapping run of the same block (repeated lines)
            pair = (f"{other.relative_to(root)}:{other_first}", f"{path.relative_to(root)}:{first_line}")
            if found and _continues(found[-1], pair):
                continue
            found.append(pair)
    return found


def _continues(previous: Tuple[str, str], pair: Tuple[str, str]) -> bool:
    """Whether `pair` is `previous` moved on by a line or a few (one long run)."""
    def split(place: str) -> Tuple[str, int]:
        name, line = place.rsplit(":", 1)
        return name, int(line)

    (a, i), (b, j) = split(previous[0]), split(previous[1])
    (c, k), (d, m) = split(pair[0]), split(pair[1])
    return a == c and b == d and 0 < k - i <= MIN_DUPLICATE_LINES and 0 < m - j <= MIN_DUPLICATE_LINES


def test_find_duplicate_blocks_finds_a_planted_copy(tmp_path):
    body = "\n".join(f"    value_{i} = compute({i}, option={i * 2})" for i in range(7))
    (tmp_path / "a.py").write_text(f"def f():\n{body}\n")
    (tmp_path / "b.py").write_text(f"def g():\n    # a copy\n{body}\n")
    (tmp_path / "c.py").write_text("def h():\n" + body.replace("compute", "other") + "\n")
    found = find_duplicate_blocks(sorted(tmp_path.glob("*.py")), tmp_path)
    assert ("a.py:2", "b.py:3") in found
    assert not any("c.py" in place for pair in found for place in pair)


def test_shared_parameter_lists_are_not_duplicates(tmp_path):
    signature = "    path: Path,\n    vocab: Vocab,\n    *,\n    report: Optional[Report] = None,\n    prefix: str = PREFIX,\n    key: str = KEY,\n) -> Iterator[Doc]:\n"
    (tmp_path / "a.py").write_text(f"def read_a(\n{signature}    return iter(())\n")
    (tmp_path / "b.py").write_text(f"def read_b(\n{signature}    return iter([1])\n")
    assert find_duplicate_blocks(sorted(tmp_path.glob("*.py")), tmp_path) == []


def test_no_duplicated_blocks():
    found = find_duplicate_blocks(sorted(_modules().values()))
    assert not found, f"blocks of {MIN_DUPLICATE_LINES}+ identical code lines: {found[:10]}"
