"""A tidy test in TigerBeetle's manner: limits on the source itself, read with ast (nothing is imported but the
CLI). Each limit has an explicit exception list, file:function or file -> why it stands; an exception that no
longer applies fails too, so the lists only shrink. Each checker is also run on a bad sample, so none of these
tests can pass by finding nothing."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("engine", "formats", "ledgers", "bank_exports", "payroll", "cli", "rules", "benchmarks")
FUNCTION_LINES_MAX = 70
FILE_LINES_MAX = 500
KERNEL_ASSERTIONS_MIN = 2
LONG_FUNCTIONS: dict[str, str] = {}  # "path:function" -> reason
LONG_FILES = {
    "engine/entitlement.py": "the entitlement kernel with every formula kind's inline helper: Numba compiles them "
                             "as one unit; one module per formula kind is the next step, with the specialised "
                             "kernels of issue 15",
    "formats/catalogue.py": "the catalogue's TOML schema, its sources, bases and checks in one reader; the "
                            "provenance (sources, bases) is the next to leave",
    "ledgers/store.py": "the Ledger class (transactions, append, reads, codes, events); splitting its reads into "
                        "a module of their own is the next step",
    "payroll/compute.py": "the calculation step (engine call, ledger state, lines, orders); what approval posts "
                          "besides the lines left for payroll/taken.py and advance_claims.py, the lines next",
    "payroll/reconcile.py": "reading, matching and posting of return files; PayrollView is the next to leave",
    "cli/payroll_cmds.py": "every command of the cycle (calculate to reconcile, holds, cancel) with their "
                           "progress bar; one module per step is the next step",
}
FEW_ASSERTION_KERNELS = {
    "engine/means.py:div_half_up": "one line of integer arithmetic inlined into kernels that assert the "
                                         "inputs it is given",
    "engine/entitlement.py:month_first_day": "a date conversion inlined into kernels that assert their inputs",
}
READ_ONLY_TYPES_HOME = "engine/jit.py"
READ_ONLY_TYPES_ELSEWHERE: dict[str, str] = {}
# file names that two packages both use -> why both stay
REPEATED_NAMES = {
    "catalogue.py": "engine/catalogue.py compiles the catalogue into arrays and may not import formats; "
                    "formats/catalogue.py reads and checks the TOML: two layers of one concept",
    "errors.py": "payroll/errors.py re-exports the error types for cli, which may not import formats",
    "postings.py": "ledgers/postings.py is the ledger's posting arrays; payroll/postings.py the payroll's posting "
                   "scheme built on them",
    "register.py": "formats/register.py reads the register's files; payroll/register.py is the check step the "
                   "cli calls, which may not import formats",
    "store.py": "ledgers/store.py is the ledger; payroll/store.py the payroll's files and records",
}
# modules in an import circle (imports inside functions count: they only defer the circle) -> why it stands
CIRCLES: dict[str, str] = {}
NOT_THE_CYCLE = ("payroll/reconcile.py", "payroll/audit.py", "payroll/report.py", "payroll/queries.py",
                 "payroll/lifecycle.py", "payroll/explain.py")


def source_files(root: Path = ROOT) -> list[Path]:
    return [path for package in SOURCE_PACKAGES for path in sorted((root / package).rglob("*.py"))]


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def long_functions(root: Path = ROOT) -> dict[str, int]:
    found = {}
    for path in source_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES_MAX:
                    found[f"{relative(path, root)}:{node.name}"] = lines
    return found


def long_files(root: Path = ROOT) -> dict[str, int]:
    counts = {relative(path, root): len(path.read_text(encoding="utf-8").splitlines()) for path in source_files(root)}
    return {path: count for path, count in counts.items() if count > FILE_LINES_MAX}


def is_kernel(node: ast.FunctionDef) -> bool:
    """Compiled by engine.jit.kernel or engine.jit.helper (bounds checks off: JIT_OPTIONS) or numba.njit directly."""
    names = [ast.unparse(decorator.func if isinstance(decorator, ast.Call) else decorator)
             for decorator in node.decorator_list]
    return any(name in ("kernel", "helper", "njit", "numba.njit", "jit", "numba.jit") for name in names)


def kernels_with_few_assertions(root: Path = ROOT) -> dict[str, int]:
    found = {}
    for path in source_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and is_kernel(node):
                count = sum(isinstance(inner, ast.Assert) for inner in ast.walk(node))
                if count < KERNEL_ASSERTIONS_MIN:
                    found[f"{relative(path, root)}:{node.name}"] = count
    return found


def read_only_type_homes(root: Path = ROOT) -> set[str]:
    return {relative(path, root) for path in source_files(root)
            if re.search(r"readonly\s*=\s*True", path.read_text(encoding="utf-8"))}


def repeated_names(root: Path = ROOT) -> dict[str, list[str]]:
    homes: dict[str, list[str]] = {}
    for path in source_files(root):
        if path.name != "__init__.py":
            homes.setdefault(path.name, []).append(relative(path, root))
    return {name: paths for name, paths in homes.items() if len(paths) > 1}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Project module -> project modules it imports anywhere in the file. `from a import b` where a.b is a
    module is an edge to a.b alone (Python imports the package a first, but a's __init__ then runs before b's)."""
    modules = {module_name(path, root): path for path in source_files(root)}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
                edges.update(submodules or {node.module})
                if len(submodules) < len(node.names):
                    edges.add(node.module)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def modules_in_circles(graph: dict[str, set[str]]) -> set[str]:
    """Every module of a strongly connected component of more than one module (Tarjan, iteratively)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), set(), 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter = counter + 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            following = next(edges, None)
            if following is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.update(component)
            elif following not in index:
                index[following] = low[following] = counter = counter + 1
                stack.append(following)
                on_stack.add(following)
                work.append((following, iter(sorted(graph[following]))))
            elif following in on_stack:
                low[node] = min(low[node], index[following])
    return found


def stale(exceptions: dict, found) -> list[str]:
    return sorted(set(exceptions) - set(found))


def assert_within(found, exceptions: dict) -> None:
    """Nothing found beyond the exceptions, and no exception that no longer applies."""
    beyond = {key: found[key] if isinstance(found, dict) else True for key in found if key not in exceptions}
    assert beyond == {}
    assert stale(exceptions, found) == []


def test_no_function_is_longer_than_the_limit():
    assert_within(long_functions(), LONG_FUNCTIONS)


def test_no_file_is_longer_than_the_limit():
    assert_within(long_files(), LONG_FILES)


def test_kernels_assert_their_inputs():
    """Kernels run with bounds checks off: each asserts at least two things of its inputs."""
    assert_within(kernels_with_few_assertions(), FEW_ASSERTION_KERNELS)


def test_read_only_array_types_are_defined_once():
    homes = read_only_type_homes()
    assert READ_ONLY_TYPES_HOME in homes
    assert_within(homes - {READ_ONLY_TYPES_HOME}, READ_ONLY_TYPES_ELSEWHERE)


def test_no_file_name_is_repeated_across_packages():
    assert_within(repeated_names(), REPEATED_NAMES)


def test_no_import_circle():
    assert_within(modules_in_circles(import_graph()), CIRCLES)


def test_reconcile_audit_and_reports_do_not_import_the_cycle():
    graph = import_graph()
    assert [path for path in NOT_THE_CYCLE if "payroll.cycle" in graph[module_name(ROOT / path, ROOT)]] == []


def test_every_command_is_named_in_the_readme():
    from test_layout import all_commands

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    for path, _command in all_commands():
        words = path.split()
        if len(words) == 1:
            continue
        lines = [line for line in readme.splitlines() if f"isplata {words[1]}" in line]
        if not any(re.search(rf"(?<![\w-]){re.escape(words[-1])}(?![\w-])", line) for line in lines):
            missing.append(path)
    assert missing == []


# ---- the checkers themselves find what they look for ----------------------------------------------------------

BAD_SAMPLE = {
    "engine/__init__.py": "",
    "engine/slow.py": "from engine.jit import kernel\n\n\n@kernel\ndef loop(values):\n    assert values.ndim == 1\n"
                      "    return values\n\n\nimport numba\nX = numba.types.Array(numba.types.int64, 1, 'C', "
                      "readonly=True)\n",
    "engine/jit.py": "import engine.slow\n",
    "formats/__init__.py": "",
    "formats/store.py": "def long():\n" + "    x = 1\n" * FUNCTION_LINES_MAX + "    return x\n",
    "ledgers/__init__.py": "",
    "ledgers/store.py": "x = 1\n" * (FILE_LINES_MAX + 1),
}


@pytest.fixture
def bad_tree(tmp_path) -> Path:
    for name, text in BAD_SAMPLE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_checkers_find_a_bad_tree(bad_tree):
    assert long_functions(bad_tree) == {"formats/store.py:long": FUNCTION_LINES_MAX + 2}
    assert long_files(bad_tree) == {"ledgers/store.py": FILE_LINES_MAX + 1}
    assert kernels_with_few_assertions(bad_tree) == {"engine/slow.py:loop": 1}
    assert read_only_type_homes(bad_tree) == {"engine/slow.py"}
    assert repeated_names(bad_tree) == {"store.py": ["formats/store.py", "ledgers/store.py"]}
    assert modules_in_circles(import_graph(bad_tree)) == {"engine.jit", "engine.slow"}
    assert stale({"gone.py": "reason"}, {}) == ["gone.py"]
