"""Every command, as a person runs it, answers a bad config with one line and exit 2 before the CDK loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toolchain import ROOT

COMMANDS = {
    "the app (cdk synth)": ["pipeline_app.py"],
    "make synth (before the CLI)": ["-m", "tools.validate", "{config}"],
    "make summary": ["-m", "tools.summary", "--config", "{config}", "--outdir", "{out}"],
    "make access-report": ["-m", "access_report", "--config", "{config}", "--output", "{out}/report.md"],
    "make local": ["-m", "tools.rehearsal", "--config", "{config}", "--outdir", "{out}"],
    "make bootstrap": ["-m", "tools.operator", "bootstrap", "--config", "{config}"],
    "make doctor": ["-m", "tools.operator", "doctor", "--config", "{config}"],
    "make deploy": ["-m", "tools.operator", "deploy", "--config", "{config}"],
}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_bad_config_is_one_line_exit_2_and_nothing_written(tmp_path, command):
    config = tmp_path / "bad.yaml"
    config.write_text('project: datashare\ntooling: {account: "1111", region: eu-west-1}\n')
    out = tmp_path / "out"
    args = [a.format(config=config, out=out) for a in COMMANDS[command]]
    environment = {"PATH": "/usr/bin:/bin", "CDK_CONTEXT_JSON": f'{{"config": "{config}"}}', "CDK_OUTDIR": str(out)}
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert lines == [f"error: {config}: tooling.account: '1111' is not a 12-digit AWS account id"]
    assert result.stdout == "" and not out.exists()
    # Nothing loaded the CDK: its Node.js process would print its own warnings to stderr.


def test_make_synths_validation_passes_a_good_config_and_refuses_one_too_large_without_the_cdk(tmp_path):
    from tools.bench.configs import config_with

    big = tmp_path / "big.yaml"
    big.write_text(config_with(1000))
    for config, code in (("config/example.yaml", 0), (str(big), 2)):
        result = subprocess.run(
            [sys.executable, "-m", "tools.validate", config], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == code, result.stderr
    assert "target accounts in eu-west-1 make the pipeline's artifact bucket policy" in result.stderr
