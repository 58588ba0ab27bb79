"""The folders form layers, and imports run only downwards: configuration at the bottom, then the constructs,
stacks, your own workloads (extensions/), Stages and checks, the pipeline on top of them, the access report and the
tools above that. The pipeline's step scripts and the consumer's runtime code import nothing of the project, and
neither may a folder of your own (a Glue job's script, a function's code): the infrastructure code is in the folders
of a layer. No two modules import each other, however indirectly."""

from __future__ import annotations

import ast

from toolchain import ROOT

# Lowest first. A module may import from its own folder and from folders of a lower layer.
LAYERS: dict[str, int] = {
    "toolchain": 0,
    "config": 1,
    "bootstrap": 2,
    "cdk_constructs": 3,
    "checks": 3,
    "stacks": 4,
    "extensions": 5,
    "stages": 6,
    "pipeline": 7,
    "access_report": 8,
    "tools": 9,
    "pipeline_app": 10,
}
STANDALONE = {"pipeline_steps", "runtime"}  # the standard library and boto3 only
PROJECT = set(LAYERS) | STANDALONE | {"consumer_app"}


def _imported_modules(path, modules: set[str] | None = None) -> set[str]:
    """Every module a file imports, dotted. `from a import b` is a.b where `modules` has it (b is a module), else a."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if modules is not None and dotted in modules else node.module)
    return found


def _imports(path) -> set[str]:
    return {name.split(".")[0] for name in _imported_modules(path)} & PROJECT


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "node_modules", "cdk.out", "tests"}:
            continue
        yield parts[0].removesuffix(".py"), path


def test_a_folder_of_no_layer_imports_nothing_of_the_project():
    """A folder of your own (a function's code beside its extension, a Glue job's script) is code that runs
    somewhere else: infrastructure code goes in the folders of a layer, your workloads in extensions/."""
    found = [
        f"{path.relative_to(ROOT)} imports {imported}: define workloads in extensions/"
        for folder, path in _modules()
        if folder not in LAYERS and folder not in STANDALONE
        for imported in _imports(path)
        if imported != folder
    ]
    assert found == []


def test_imports_run_only_downwards():
    upward = [
        f"{path.relative_to(ROOT)} imports {imported}"
        for folder, path in _modules()
        if folder in LAYERS
        for imported in _imports(path)
        if imported != folder
        and (imported not in LAYERS or LAYERS[imported] >= LAYERS[folder])
        and imported not in STANDALONE | {"consumer_app"}
    ]
    assert upward == []


def test_standalone_code_imports_nothing_of_the_project():
    found = [
        f"{path.relative_to(ROOT)} imports {imported}"
        for folder, path in _modules()
        if folder in STANDALONE
        for imported in _imports(path)
        if imported not in {folder, "consumer_app"}
    ]
    assert found == []


def _module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "runtime":
        parts = parts[1:]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_circle_between_modules():
    files = {_module_name(path): path for _, path in _modules()}
    graph = {
        name: {imported for imported in _imported_modules(path, set(files)) if imported in files and imported != name}
        for name, path in files.items()
    }
    circles = []
    for start in graph:  # a path from a module's imports back to itself
        seen, stack = set(), [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert circles == []


def test_the_code_the_cli_runs_has_no_assert():
    """cdk.json runs the app under `python -O` (jsii then skips its Python-side type checks, a quarter of the
    construction time; the tests run with them, the stricter way), which removes assert statements: a check the app
    relies on raises instead, so that `cdk synth` runs what the tests ran."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for folder, path in _modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_each_aws_quota_is_written_once():
    """config/quotas.py holds AWS's quotas with their sources; a number of one written elsewhere would drift from it.
    Checked for the quotas of 2,048 and more (smaller numbers are too common to tell apart)."""
    from config import quotas

    values = {v for k, v in vars(quotas).items() if k.isupper() and isinstance(v, int) and v >= 2048}
    allowed = {
        ("config/model.py", 2048), ("config/model.py", 4096),  # trust_policy_quota's values, as a config writes them
        ("config/loader.py", 1_000_000),  # the largest config file read: the project's own bound, not a quota
    }  # fmt: skip
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
        for _, path in _modules()
        if path.name != "quotas.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value in values
        and (str(path.relative_to(ROOT)), node.value) not in allowed
    ]  # fmt: skip
    assert found == []
