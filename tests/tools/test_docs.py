"""The README and docs/: each example output is what its command prints (tools/docs.py, `make docs`), the
configuration reference is what the model says, every link lands, and the README stays a first read. The
rehearsal's block is checked by the end-to-end rehearsal test, which runs the same command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import docs


def test_every_output_block_of_the_docs_has_its_command():
    assert set(docs.all_blocks()) == set(docs.GENERATORS)


def test_the_bad_config_block_is_what_the_validation_prints():
    assert docs.normalize(docs.bad_config()) == docs.normalize(docs.all_blocks()["bad-config"])


def test_the_extension_example_is_the_file_the_tests_build():
    shown = docs.all_blocks()["extension-example"]
    assert shown == (docs.ROOT / "extensions" / "nightly_export" / "__init__.py").read_text()


def test_the_configuration_reference_is_the_models_and_lists_every_field_with_its_description():
    from config.model import Config

    for path, write in docs.PAGES.items():
        assert path.read_text() == write(), f"{path.name} differs: make docs"
    reference = (docs.ROOT / "docs" / "configuration-reference.md").read_text()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert all(not line.endswith("|  |") for line in rows)  # every field has its description
    assert "| `environments[].consumers[].grants` |" in reference
    assert len(rows) >= len(Config.model_fields) + 30


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_lands_on_a_file_and_heading():
    anchors = {
        document.resolve(): {_slug(h) for h in re.findall(r"^#+ (.*)$", document.read_text(), re.M)}
        for document in docs.DOCUMENTS
    }
    broken = []
    for document in docs.DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            file, _, anchor = target.partition("#")
            path = (document.parent / file).resolve() if file else document.resolve()
            if not path.exists() or (anchor and anchor not in anchors.get(path, set())):
                broken.append(f"{document.name}: {target}")
    assert broken == []


def test_the_readme_is_a_first_read():
    readme = docs.README.read_text().splitlines()
    assert len(readme) < 200
    linked = set(re.findall(r"\]\((docs/[a-z-]+\.md)\)", "\n".join(readme)))
    assert {f"docs/{path.name}" for path in Path(docs.ROOT / "docs").glob("*.md")} <= linked


def test_normalize_leaves_out_only_what_differs_between_runs():
    assert docs.normalize(
        "synth 12.4 s  ok\nsynth  5.5 s  ok\nSummary (62.4 s in all):\nvpc-0a1b2c3d4e5f60718 sg-1234abcd \n"
    ) == ("synth N.N s  ok\nsynth N.N s  ok\nSummary (N.N s in all):\nvpc-ID sg-ID\n")
    assert docs.normalize("PASS  analytics") != docs.normalize("FAIL  analytics")


@pytest.mark.e2e
@pytest.mark.e2e  # bootstrap --yes drives the CDK CLI in each account
def test_the_first_deployment_block_is_what_doctor_and_bootstrap_print_on_emulated_accounts():
    assert docs.normalize(docs.first_deployment()) == docs.normalize(docs.all_blocks()["first-deployment"])
