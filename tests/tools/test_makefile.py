"""The Makefile: `make help` lists every target, each with what it does."""

from __future__ import annotations

import re
import subprocess

from toolchain import ROOT


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = {target for line in re.findall(r"^([a-z][a-z -]*):(?!=)", makefile, re.M) for target in line.split()}
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    listed = {target for line in shown.splitlines() for target in line.split("  ")[1].split()[1:]}
    described = [line for line in shown.splitlines() if len(line.split(None, 2)) < 3]
    assert targets - {"help"} <= listed and "test" in listed
    assert described == []  # every line has its description


def test_each_target_has_its_own_line_in_make_help():
    makefile = (ROOT / "Makefile").read_text()
    assert re.findall(r"^[a-z][a-z-]* [a-z -]*:(?!=).*## ", makefile, re.M) == []
