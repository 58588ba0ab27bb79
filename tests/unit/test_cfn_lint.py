"""cfn-lint on every synthesized template: no errors.

Ignored, with the reason: E3703 ("prefer Fn::Sub over Fn::Join") is a style rule about how CDK itself
writes ARNs in the templates it generates; the warnings left are CDK's redundant DependsOn (W3005).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_templates_have_no_cfn_lint_errors(example):
    templates = sorted(str(p) for p in Path(example.app.outdir).rglob("*.template.json"))
    assert len(templates) >= 6  # pipeline, cross-region support, two sharing and three consumer stacks
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", "-i", "E3703", "-t", *templates],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,  # with stdin open, cfn-lint also lints it as one more (empty) template
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert errors == [], "\n".join(errors)
    assert result.returncode in (0, 4), result.stderr  # 4: warnings only
