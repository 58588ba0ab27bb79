"""make bench-errors: how long each command takes to refuse a bad config (one line, exit 2), each run as a person
runs it, in its own process; and, for comparison, the CDK CLI's own `cdk synth` of the same config."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from toolchain import CDK_CLI, ROOT

BAD = 'project: datashare\ntooling: {account: "1111", region: eu-west-1}\n'
COMMANDS = {
    "the app (what cdk synth runs)": [sys.executable, "-O", "pipeline_app.py"],
    "make synth's validation": [sys.executable, "-m", "tools.validate", "{config}"],
    "make summary": [sys.executable, "-m", "tools.summary", "--config", "{config}"],
    "make access-report": [sys.executable, "-m", "access_report", "--config", "{config}"],
    "make local": [sys.executable, "-m", "tools.rehearsal", "--config", "{config}"],
    "make bootstrap": [sys.executable, "-m", "tools.operator", "bootstrap", "--config", "{config}"],
    "make doctor": [sys.executable, "-m", "tools.operator", "doctor", "--config", "{config}"],
    "cdk synth (the CLI's start-up included)": [str(CDK_CLI), "synth", "--quiet", "-c", "config={config}"],
}


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "bad.yaml"
        config.write_text(BAD)
        environment = {**os.environ, "CDK_CONTEXT_JSON": f'{{"config": "{config}"}}', "CDK_OUTDIR": directory}
        print(f"{'command':<42} {'seconds':>7}  exit  stderr lines")
        for name, command in COMMANDS.items():
            args = [a.format(config=config) for a in command]
            started = time.perf_counter()
            result = subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            lines = len(result.stderr.strip().splitlines())
            print(f"{name:<42} {seconds:>7.2f}  {result.returncode:>4}  {lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
