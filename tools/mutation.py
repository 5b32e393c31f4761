"""Mutation testing: does the suite notice when a module decides wrongly?

    python tools/mutation.py                       # every target in tools/mutation.toml
    python tools/mutation.py meshauth/files/tree.py --workers 2
    python tools/mutation.py meshauth/authz/matcher.py --list    # the mutants, nothing run
    python tools/mutation.py meshauth/files/tree.py --only 12,40 # some mutants, by number

Each mutant is one small change to one module (a comparison turned round, ``and`` for ``or``, a
condition negated, a constant moved by one, a guard's ``raise`` or a call removed, ...). It is
written into a private copy of the repository and the module's tests run on it in a fresh Python
process (``pytest -x``), with ``PYTHONPATH`` pointing at the copy so that the command-line
subprocesses the tests start run the mutant too, and with no byte-code cache, so nothing from
another mutant (an ``lru_cache``, a ``.pyc``) can make a mutant look killed or alive. A mutant the
tests fail on is *killed*; one that outlives its time limit counts as killed too (``timeout``);
one the tests pass on *survived*: either the tests miss a behaviour, or the change is equivalent
(no input can tell the two apart), which ``tools/mutation.toml`` then lists with its reason.

The score is ``killed / (mutants - equivalent)``. Targets, their tests, their goals and the
equivalent mutants live in ``tools/mutation.toml``; docs/development.md has the scores.

Why not mutmut: it skips decorated functions and runs mutants in one process, where an
``lru_cache`` filled by one mutant answers for the next (21 survivors were such fakes).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"


# --- mutants -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    number: int
    line: int
    end_line: int
    column: int
    operator: str
    before: str
    after: str

    def describe(self) -> str:
        return f"{self.operator}: `{self.before}` -> `{self.after}`"


_COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
_NAME_SWAP = {"any": "all", "all": "any", "min": "max", "max": "min"}
# String methods whose argument decides behaviour (a prefix, a separator, a key).
_KEY_METHODS = {
    "get",
    "startswith",
    "endswith",
    "split",
    "rsplit",
    "partition",
    "removeprefix",
    "removesuffix",
}


class _Mutator(ast.NodeTransformer):
    """Numbers every mutation point in visiting order; applies the one numbered ``target``."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.count = 0
        self.found: list[Mutant] = []
        self._key_strings: set[int] = set()  # id() of string constants that are keys or prefixes

    def _offer(self, node: ast.AST, new: ast.AST, operator: str) -> ast.AST | None:
        number = self.count
        self.count += 1
        if self.target is None:
            self.found.append(
                Mutant(
                    number,
                    getattr(node, "lineno", 0),
                    getattr(node, "end_lineno", None) or getattr(node, "lineno", 0),
                    getattr(node, "col_offset", 0),
                    operator,
                    _text(node),
                    _text(new),
                )
            )
        return new if number == self.target else None

    # Annotations are not evaluated (``from __future__ import annotations``); docstrings are text.
    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._body_owner(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._body_owner(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._body_owner(node)

    def _body_owner(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.args = self.visit(node.args)  # defaults, not annotations (visit_arg)
        node.body = self._statements(node.body)
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        node.body = self._statements(node.body)
        return node

    def _statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        for index, statement in enumerate(body):
            if index == 0 and _is_docstring(statement):
                result.append(statement)
                continue
            if _is_type_checking(statement) or _is_dunder_all(statement):
                result.append(statement)
                continue
            new = self.visit(statement)
            if new is None:
                continue
            result.extend(new if isinstance(new, list) else [new])
        return result or [ast.Pass()]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    # --- statements
    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Call):
            return self._offer(node, ast.Pass(), "remove call") or node
        return node

    def visit_Raise(self, node: ast.Raise) -> ast.AST:
        self.generic_visit(node)
        return self._offer(node, ast.Pass(), "remove raise") or node

    def visit_Continue(self, node: ast.Continue) -> ast.AST:
        return self._offer(node, ast.Break(), "continue -> break") or node

    def visit_Break(self, node: ast.Break) -> ast.AST:
        return self._offer(node, ast.Continue(), "break -> continue") or node

    def visit_If(self, node: ast.If) -> ast.AST:
        return self._negate_test(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        return self._negate_test(node)

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        return self._negate_test(node)

    def _negate_test(self, node: ast.If | ast.While | ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        test = node.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return node  # "remove not" covers it
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _COMPARE_SWAP:
            return node  # the comparison's swap covers it
        new = copy.copy(node)
        new.test = ast.UnaryOp(op=ast.Not(), operand=test)
        return self._offer(node, new, "negate condition") or node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        swap = _BINOP_SWAP.get(type(node.op))
        if swap is None:
            return node
        new = copy.copy(node)
        new.op = swap()
        return self._offer(node, new, "augmented operator") or node

    # --- expressions
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        for comparator in [node.left, *node.comparators]:
            self._mark_keys(comparator)
        self.generic_visit(node)
        for index, op in enumerate(node.ops):
            swap = _COMPARE_SWAP.get(type(op))
            if swap is None:
                continue
            new = copy.copy(node)
            new.ops = [*node.ops[:index], swap(), *node.ops[index + 1 :]]
            replaced = self._offer(node, new, "comparison")
            if replaced is not None:
                return replaced
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swapped = ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(), values=node.values)
        replaced = self._offer(node, swapped, "and/or")
        if replaced is not None:
            return replaced
        for index in range(len(node.values)):
            rest = node.values[:index] + node.values[index + 1 :]
            new = rest[0] if len(rest) == 1 else ast.BoolOp(op=node.op, values=rest)
            replaced = self._offer(node, new, "drop operand")
            if replaced is not None:
                return replaced
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return self._offer(node, node.operand, "remove not") or node
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = _BINOP_SWAP.get(type(node.op))
        if swap is None or _is_string_format(node):
            return node
        new = copy.copy(node)
        new.op = swap()
        return self._offer(node, new, "arithmetic") or node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self._mark_keys(node.slice)
        self.generic_visit(node)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        for key in node.keys:
            if key is not None:
                self._mark_keys(key)
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Attribute) and node.func.attr in _KEY_METHODS:
            for argument in node.args[:1]:
                self._mark_keys(argument)
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _NAME_SWAP:
            new = copy.copy(node)
            new.func = ast.Name(id=_NAME_SWAP[node.func.id], ctx=ast.Load())
            return self._offer(node, new, "builtin") or node
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # message text

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            return self._offer(node, ast.Constant(not value), "boolean") or node
        if isinstance(value, int):
            return self._offer(node, ast.Constant(value + 1 if value != 1 else 0), "number") or node
        if isinstance(value, str) and id(node) in self._key_strings:
            return self._offer(node, ast.Constant("mutant" + value + "mutant"), "key string") or node
        return node

    def _mark_keys(self, node: ast.AST) -> None:
        """Strings compared with, looked up by or tested as prefixes decide behaviour: mutate them."""
        candidates = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
        for candidate in candidates:
            if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
                self._key_strings.add(id(candidate))


def _text(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # noqa: BLE001 - a description only
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:87] + "..."


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _is_type_checking(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test)


def _is_dunder_all(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "__all__" for target in statement.targets
    )


def _is_string_format(node: ast.BinOp) -> bool:
    return any(
        isinstance(side, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(side, "value", ""), str)
        for side in (node.left, node.right)
    )


def mutants(source: str) -> list[Mutant]:
    finder = _Mutator(None)
    finder.visit(ast.parse(source))
    return finder.found


def mutated(source: str, number: int) -> str:
    applier = _Mutator(number)
    tree = applier.visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# --- configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    module: str
    tests: tuple[str, ...]
    goal: float


@dataclass(frozen=True)
class Equivalent:
    module: str
    line: str  # the source line, stripped
    mutation: str  # Mutant.describe()
    reason: str


def load_config(path: Path = CONFIG) -> tuple[list[Target], list[Equivalent]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    targets = [
        Target(t["module"], tuple(t["tests"]), float(t.get("goal", 90))) for t in data.get("target", [])
    ]
    equivalents = [
        Equivalent(e["module"], e["line"].strip(), e["mutation"], e["reason"])
        for e in data.get("equivalent", [])
    ]
    return targets, equivalents


# --- running -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed, timeout, survived, equivalent
    seconds: float


def _copy_repository(destination: Path) -> Path:
    """A private copy of the tracked files (plus the untracked ones beside them), with no caches."""
    repo = destination / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    shared = (ROOT.parent / "shared").resolve()
    if shared.is_dir():
        (destination / "shared").symlink_to(shared)
    cache = ROOT / ".cache"
    if cache.is_dir():
        (repo / ".cache").symlink_to(cache.resolve())
    return repo


def _run_tests(
    repo: Path,
    tests: Sequence[str],
    timeout: float | None,
    prefix: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[int | None, float]:
    env = dict(
        os.environ, **(env or {}), PYTHONPATH=str(repo), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0"
    )
    pytest = ["-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    try:
        code = subprocess.run(
            [sys.executable, *prefix, *pytest], cwd=repo, env=env, capture_output=True, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return code, time.monotonic() - started


# Loaded into the coverage run only (``pytest -p``, before any test imports meshauth): the target
# module's own ``lru_cache`` / ``cache`` functions run uncached there, so that every test that reaches
# a cached line is counted as reaching it, not just the first one to fill the cache (that made a
# wildcard host's suffix look tested only by a test that never looked at the answer).
_NO_CACHE = "_mutation_nocache"
_NO_CACHE_PLUGIN = """import functools
import os

_module = os.environ.get("MUTATION_MODULE")
_lru_cache = functools.lru_cache


def _uncached_in_target(maxsize=128, typed=False):
    def decorate(function):
        if getattr(function, "__module__", None) == _module:
            return function
        return _lru_cache(maxsize, typed)(function)

    if callable(maxsize) and not isinstance(maxsize, bool):
        function, maxsize = maxsize, 128
        return decorate(function)
    return decorate


functools.lru_cache = _uncached_in_target
"""


def _module_name(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def _tests_by_line(repo: Path, target: Target) -> tuple[dict[int, set[str]], int | None, float]:
    """Which tests run each line of the module (coverage's per-test contexts), from one run of the
    target's tests: a mutant then runs only the tests that reach it. Lines reached only at import
    or only in a subprocess map to nothing, and their mutants run every test of the target."""
    try:
        import coverage
    except ImportError:
        print("coverage is not installed (pip install -e '.[mutation]'): every mutant runs every test")
        code, seconds = _run_tests(repo, target.tests, None)
        return {}, code, seconds
    rc = repo / ".mutation-coveragerc"
    data_file = repo / ".mutation-coverage"
    rc.write_text(
        f"[run]\ndynamic_context = test_function\ndata_file = {data_file}\n"
        f"include = {repo / target.module}\n",
        encoding="utf-8",
    )
    (repo / f"{_NO_CACHE}.py").write_text(_NO_CACHE_PLUGIN, encoding="utf-8")
    coverage_run = ("-m", "coverage", "run", f"--rcfile={rc}")
    code, seconds = _run_tests(
        repo,
        [*target.tests, "-p", _NO_CACHE],
        None,
        prefix=coverage_run,
        env={"MUTATION_MODULE": _module_name(target.module)},
    )
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    stems = {Path(t).stem: t for t in target.tests}
    by_line: dict[int, set[str]] = {}
    for line, contexts in data.contexts_by_lineno(str(repo / target.module)).items():
        for context in contexts:
            node = _node_id(context, stems)
            if node:
                by_line.setdefault(line, set()).add(node)
    return by_line, code, seconds


def _node_id(context: str, stems: dict[str, str]) -> str | None:
    """``tests.test_output.TestX.test_y`` -> ``tests/test_output.py::TestX::test_y``."""
    parts = context.split(".")
    for index, part in enumerate(parts):
        if part in stems and index + 1 < len(parts):
            return "::".join([stems[part], *parts[index + 1 :]])
    return None


def run_target(
    target: Target,
    equivalents: Sequence[Equivalent],
    workers: int,
    only: set[int] | None,
    progress: Callable[[str], None],
) -> list[Outcome]:
    source = (ROOT / target.module).read_text(encoding="utf-8")
    lines = source.splitlines()
    chosen = [m for m in mutants(source) if only is None or m.number in only]
    known = {(e.line, e.mutation): e for e in equivalents if e.module == target.module}
    with tempfile.TemporaryDirectory(prefix="meshauth-mutation-") as scratch:
        copies: queue.Queue[Path] = queue.Queue()
        for index in range(max(1, workers)):
            copies.put(_copy_repository(Path(scratch) / f"w{index}"))
        first = copies.get()
        by_line, code, baseline = _tests_by_line(first, target)
        copies.put(first)
        if code != 0:
            raise SystemExit(
                f"{target.module}: the tests fail without any mutant (exit {code}); fix them first"
            )
        progress(f"{target.module}: {len(chosen)} mutants, tests take {baseline:.1f}s")
        limit = baseline * 3 + 30

        done: list[str] = []

        def tests_for(mutant: Mutant) -> list[str]:
            lines_hit = range(mutant.line, mutant.end_line + 1)
            reached = set().union(*(by_line.get(n, set()) for n in lines_hit))
            order = {test: index for index, test in enumerate(target.tests)}
            # The target's test files in their order (the fast ones first), then by name.
            return sorted(reached, key=lambda node: (order[node.split("::")[0]], node)) or list(target.tests)

        def run(mutant: Mutant) -> Outcome:
            line = lines[mutant.line - 1].strip() if 0 < mutant.line <= len(lines) else ""
            if (line, mutant.describe()) in known:
                return Outcome(mutant, "equivalent", 0.0)
            repo = copies.get()
            path = repo / target.module
            try:
                path.write_text(mutated(source, mutant.number), encoding="utf-8")
                code, seconds = _run_tests(repo, tests_for(mutant), limit)
            finally:
                path.write_text(source, encoding="utf-8")
                copies.put(repo)
            status = "timeout" if code is None else "survived" if code == 0 else "killed"
            done.append(status)
            if len(done) % 20 == 0:
                progress(f"  {len(done)}/{len(chosen)} run")
            if status == "survived":
                progress(f"  survived #{mutant.number} line {mutant.line}: {mutant.describe()}")
            return Outcome(mutant, status, seconds)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(run, chosen))


def score(outcomes: Sequence[Outcome]) -> tuple[int, int, int, float]:
    """(mutants counted, killed, equivalent, percent killed of the non-equivalent)."""
    equivalent = sum(o.status == "equivalent" for o in outcomes)
    killed = sum(o.status in ("killed", "timeout") for o in outcomes)
    counted = len(outcomes) - equivalent
    return len(outcomes), killed, equivalent, (100.0 * killed / counted if counted else 100.0)


def _selected(targets: Sequence[Target], names: Sequence[str]) -> Iterator[Target]:
    by_module = {t.module: t for t in targets}
    for name in names or [t.module for t in targets]:
        if name not in by_module:
            raise SystemExit(
                f"{name}: not a target in {CONFIG.relative_to(ROOT)} (targets: {', '.join(by_module)})"
            )
        yield by_module[name]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="modules from tools/mutation.toml (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--only", help="comma-separated mutant numbers")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args(argv)
    targets, equivalents = load_config()
    only = {int(n) for n in args.only.split(",")} if args.only else None
    report: dict[str, object] = {}
    failed = False
    for target in _selected(targets, args.targets):
        if args.list:
            for m in mutants((ROOT / target.module).read_text(encoding="utf-8")):
                print(f"{target.module}:{m.line}: #{m.number} {m.describe()}")
            continue
        outcomes = run_target(target, equivalents, args.workers, only, lambda text: print(text, flush=True))
        total, killed, equivalent, percent = score(outcomes)
        verdict = "ok" if percent >= target.goal else f"below the goal of {target.goal:g} %"
        print(
            f"{target.module}: {total} mutants, {killed} killed, {equivalent} equivalent: {percent:.1f} % ({verdict})"
        )
        failed |= percent < target.goal and only is None
        report[target.module] = [
            dict(asdict(o.mutant), status=o.status, seconds=round(o.seconds, 2)) for o in outcomes
        ]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
