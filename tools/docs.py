"""make docs: every example output in the README, regenerated from the commands themselves.

A block is a fenced block right after a line `<!-- output: NAME -->`; NAME is one of GENERATORS. `--check` writes
nothing and exits 1 where a block differs from what its command prints now, timings, emulator ids and temporary
paths aside (normalize()). The rehearsal's and the operator commands' outputs come from emulated accounts, as
`make local` makes them."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from config import DEFAULT_CONFIG, load_config
from config.toolchain import ROOT

README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- output: (?P<name>[a-z-]+) -->\n```[a-z]*\n)(?P<body>.*?)(```)", re.S)
BAD_ACCOUNT = ('account: "555555555555"', 'account: "55555555555"')


def rehearsal() -> str:
    """`make local` on the example config."""
    from tools.rehearsal.runner import Rehearsal

    out = io.StringIO()
    with tempfile.TemporaryDirectory() as outdir:
        Rehearsal(
            config=load_config(ROOT / DEFAULT_CONFIG),
            config_path=DEFAULT_CONFIG,
            outdir=Path(outdir),
            approve=True,
            destroy=False,
            out=out,
        ).run()
    return out.getvalue()


def bad_config() -> str:
    """`make synth` on the example with a consumer's account one digit short: what the validation prints."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bad.yaml").write_text((ROOT / DEFAULT_CONFIG).read_text().replace(*BAD_ACCOUNT))
        result = subprocess.run(
            [sys.executable, "-m", "tools.validate", "bad.yaml"],
            cwd=folder,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
    return f"$ make synth CONFIG=bad.yaml\n{result.stderr}"


def first_deployment() -> str:
    """`make doctor`, `make bootstrap ARGS=--yes`, `make doctor` on the example config, in emulated accounts."""
    from tools.operator import __main__ as operator
    from tools.rehearsal.emulator import Emulator

    text = ""
    # moto's server prints a line for each request it has no backend for (CodeConnections): not the commands'.
    with contextlib.redirect_stdout(io.StringIO()), Emulator() as emulator:

        def sessions(account: str, region: str) -> object:
            return emulator.administrator(account).session(region)

        for shown, argv in (
            ("make doctor   # before bootstrapping", ["doctor"]),
            ('make bootstrap ARGS="--yes"', ["bootstrap", "--yes"]),
            ("make doctor", ["doctor"]),
        ):
            out = io.StringIO()
            operator.main([argv[0], "--config", DEFAULT_CONFIG, *argv[1:]], sessions=sessions, out=out)
            text += f"$ {shown}\n{out.getvalue()}"
    return text


def extension_example() -> str:
    """The example workload of extensions/, as it is."""
    return (ROOT / "extensions" / "nightly_export" / "__init__.py").read_text()


GENERATORS: dict[str, Callable[[], str]] = {
    "extension-example": extension_example,
    "local": rehearsal,
    "bad-config": bad_config,
    "first-deployment": first_deployment,
}


def normalize(text: str) -> str:
    """What differs from run to run: timings, the emulator's random ids, temporary folders."""
    text = re.sub(r"[ \t]+\d+\.\d s\b", " N.N s", text)  # with the padding a wider number takes
    text = re.sub(r"\((\d+\.\d) s in all\)", "(N.N s in all)", text)
    text = re.sub(r"\b(vpc|sg|subnet)-[0-9a-f]{8,17}\b", r"\1-ID", text)
    text = re.sub(r"/tmp/[^\s:'\"]+", "/tmp/PATH", text)
    return re.sub(r"[ \t]+\n", "\n", text)


def blocks(readme: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in BLOCK.finditer(readme)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 where a block differs")
    parser.add_argument("names", nargs="*", help=f"blocks to regenerate (default: all of {', '.join(GENERATORS)})")
    args = parser.parse_args(argv)
    readme = README.read_text()
    unknown = set(blocks(readme)) - set(GENERATORS)
    if unknown:
        print(f"error: README.md has output blocks no command makes: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    wanted = args.names or list(GENERATORS)
    outputs = {name: GENERATORS[name]() for name in wanted}
    differ = [name for name in wanted if normalize(outputs[name]) != normalize(blocks(readme).get(name, ""))]

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        return match.group(1) + outputs[name] + match.group(4) if name in outputs else match.group(0)

    if args.check:
        for name in differ:
            print(f"differs: {name} (make docs rewrites it)")
        return 1 if differ else 0
    README.write_text(BLOCK.sub(replace, readme))
    print(f"regenerated {', '.join(wanted)}; changed: {', '.join(differ) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
