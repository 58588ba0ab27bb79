"""What the pipeline needs to read the config in its own synth step: a committed file of the repository, by a plain
path, which the synth step's command names relative to the repository and quoted."""

from __future__ import annotations

import uuid

import pytest

from config.toolchain import ROOT
from pipeline.pipeline_stack import synth_command
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


@pytest.fixture
def untracked():
    path = ROOT / "config" / f"untracked-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text((ROOT / "config" / "example.yaml").read_text())
    yield path
    path.unlink()


def test_a_config_git_does_not_track_is_refused(untracked):
    problem = validate.deployable(str(untracked))
    assert problem and "not in git" in problem and f"config/{untracked.name}" in problem


def test_a_path_the_shell_would_split_is_refused():
    problem = validate.deployable(str(ROOT / "config" / "my prod;rm.yaml"))
    assert problem and "use a path of letters, digits" in problem


def test_the_synth_step_names_the_config_relative_to_the_repository_and_quoted(tmp_path):
    assert synth_command(str(ROOT / "config" / "example.yaml")) == "make pipeline-synth CONFIG=config/example.yaml"
    # A local synth of a temporary config keeps its path, quoted: deploy and doctor refuse it before it matters.
    assert synth_command(str(tmp_path / "a b.yaml")) == f"make pipeline-synth CONFIG='{tmp_path}/a b.yaml'"


def test_doctor_and_deploy_refuse_a_config_the_pipeline_could_not_read(untracked, capsys):
    for command in ("doctor", "deploy"):
        assert operator.main([command, "--config", str(untracked)], sessions=lambda *_: None) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "not in git" in err[0]
