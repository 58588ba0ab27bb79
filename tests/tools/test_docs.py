"""The README's example outputs are what the commands print (tools/docs.py, `make docs`). The rehearsal's block is
checked by the end-to-end rehearsal test, which runs the same command."""

from __future__ import annotations

from tools import docs


def test_every_output_block_of_the_readme_has_its_command():
    assert set(docs.blocks(docs.README.read_text())) == set(docs.GENERATORS)


def test_the_bad_config_block_is_what_the_validation_prints():
    assert docs.normalize(docs.bad_config()) == docs.normalize(docs.blocks(docs.README.read_text())["bad-config"])


def test_normalize_leaves_out_only_what_differs_between_runs():
    assert docs.normalize(
        "synth 12.4 s  ok\nsynth  5.5 s  ok\nSummary (62.4 s in all):\nvpc-0a1b2c3d4e5f60718 sg-1234abcd \n"
    ) == ("synth N.N s  ok\nsynth N.N s  ok\nSummary (N.N s in all):\nvpc-ID sg-ID\n")
    assert docs.normalize("PASS  analytics") != docs.normalize("FAIL  analytics")


def test_the_extension_example_is_the_file_the_tests_build():
    shown = docs.blocks(docs.README.read_text())["extension-example"]
    assert shown == (docs.ROOT / "extensions" / "nightly_export" / "__init__.py").read_text()
