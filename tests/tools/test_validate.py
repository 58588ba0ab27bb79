"""What the pipeline needs to read the config in its own synth step: a committed file of the repository, by a plain
path, which the synth step's command names relative to the repository and quoted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.pipeline_stack import synth_command
from toolchain import ROOT
from tools import validate
from tools.operator import __main__ as operator


def test_the_example_is_deployable_by_any_path_to_it(monkeypatch):
    assert validate.deployable("config/example.yaml") is None
    assert validate.deployable(str(ROOT / "config" / "example.yaml")) is None
    monkeypatch.chdir(ROOT / "config")
    assert validate.deployable("example.yaml") is None


def test_a_config_outside_the_repository_is_refused(tmp_path):
    problem = validate.deployable(str(tmp_path / "prod.yaml"))
    assert problem and "outside the repository" in problem and "commit it" in problem


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository of its own with the example committed: the tests never depend on whether the project's own copy
    is a clone (CI and the pipeline's synth step run them on a copy of the commit without .git)."""
    root = tmp_path / "repo"
    (root / "config").mkdir(parents=True)
    (root / "config" / "example.yaml").write_text((ROOT / "config" / "example.yaml").read_text())
    _git(root, "init", "--quiet")
    _git(root, "add", "config/example.yaml")
    _git(root, "commit", "--quiet", "-m", "example")
    return root


@pytest.fixture
def untracked(repository: Path) -> Path:
    path = repository / "config" / "untracked.yaml"
    path.write_text((ROOT / "config" / "example.yaml").read_text())
    return path


def test_a_config_git_does_not_track_is_refused(repository, untracked):
    problem = validate.deployable(str(untracked), repository)
    assert problem and "not in git" in problem and "config/untracked.yaml" in problem
    assert validate.deployable(str(repository / "config" / "example.yaml"), repository) is None


def test_in_a_copy_of_the_commit_without_git_every_file_present_was_committed(repository, tmp_path):
    """CodePipeline hands the synth step a zip of the commit, not a clone: no .git, so git cannot be asked, and the
    file is there because it was committed."""
    copy = tmp_path / "zip"
    copy.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repository, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
    assert not (copy / ".git").exists()
    assert validate.deployable(str(copy / "config" / "example.yaml"), copy) is None


def test_a_path_the_shell_would_split_is_refused():
    problem = validate.deployable(str(ROOT / "config" / "my prod;rm.yaml"))
    assert problem and "use a path of letters, digits" in problem


def test_the_synth_step_names_the_config_relative_to_the_repository_and_quoted(tmp_path):
    assert synth_command(str(ROOT / "config" / "example.yaml")) == "make pipeline-synth CONFIG=config/example.yaml"
    # A local synth of a temporary config keeps its path, quoted: deploy and doctor refuse it before it matters.
    assert synth_command(str(tmp_path / "a b.yaml")) == f"make pipeline-synth CONFIG='{tmp_path}/a b.yaml'"


def test_doctor_and_deploy_refuse_a_config_the_pipeline_could_not_read(repository, untracked, capsys, monkeypatch):
    monkeypatch.setattr("tools.validate.ROOT", repository)
    for command in ("doctor", "deploy"):
        assert operator.main([command, "--config", str(untracked)], sessions=lambda *_: None) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "not in git" in err[0]


def test_make_validate_says_what_it_checked(capsys):
    from pipeline.preflight import CHECKS
    from tools.validate import main

    assert main(["config/example.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok: config/example.yaml: 2 environments, 4 consumers, 7 datasets"
    assert lines[1:] == [f"  {check}" for check in CHECKS]
