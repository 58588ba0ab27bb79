"""The folders form layers, and imports run only downwards: configuration at the bottom, then the constructs,
stacks, Stages and checks, the pipeline on top of them, the access report and the tools above that. The
pipeline's step scripts and the consumer's runtime code import nothing of the project."""

from __future__ import annotations

import ast

from config.toolchain import ROOT

# Lowest first. A module may import from its own folder and from folders of a lower layer.
LAYERS: dict[str, int] = {
    "config": 0,
    "cdk_constructs": 1,
    "checks": 1,
    "stacks": 2,
    "stages": 3,
    "pipeline": 4,
    "access_report": 5,
    "tools": 6,
    "pipeline_app": 7,
}
STANDALONE = {"pipeline_steps", "runtime"}  # the standard library and boto3 only
PROJECT = set(LAYERS) | STANDALONE | {"consumer_app"}


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "node_modules", "cdk.out", "tests"}:
            continue
        yield parts[0].removesuffix(".py"), path


def test_every_folder_has_a_layer():
    assert {folder for folder, _ in _modules()} <= set(LAYERS) | STANDALONE


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
