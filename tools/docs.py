"""make docs: every example output in the README and docs/, regenerated from the commands themselves, and the pages
made whole from the code (the configuration reference, from the config model).

A block is a fenced block right after a line `<!-- output: NAME -->` in any of DOCUMENTS; NAME is one of GENERATORS.
`--check` writes nothing and exits 1 where a block differs from what its command prints now, timings, emulator ids
and temporary paths aside (normalize()), or a page from what the code makes of it now. The rehearsal's and the
operator commands' outputs come from emulated accounts, as `make local` makes them."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from config import DEFAULT_CONFIG, load_config
from toolchain import ROOT

README = ROOT / "README.md"
DOCUMENTS = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
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


def delegation() -> str:
    """The statement an existing bucket's owner adds for the example's data lake, as make doctor prints it."""
    from config.actions import access_point_delegation

    return (
        json.dumps(access_point_delegation("corp-data-lake", "444444444444", "eu-west-1", "datashare"), indent=2) + "\n"
    )


GENERATORS: dict[str, Callable[[], str]] = {
    "delegation": delegation,
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
    # The CDK CLI's polling of its deployments: as many requests as the deploys take time.
    text = re.sub(r"\b\d+ requests of the operator's identities", "N requests of the operator's identities", text)
    return re.sub(r"[ \t]+\n", "\n", text)


def blocks(readme: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in BLOCK.finditer(readme)}


def all_blocks() -> dict[str, str]:
    """Every output block of the README and docs/, by name."""
    return {name: body for document in DOCUMENTS for name, body in blocks(document.read_text()).items()}


def configuration_reference() -> str:
    """Every field of the config, from the model itself (config/model.py): its path, type, default and description."""
    from pydantic import BaseModel

    from config.model import Config, Grant

    def models_in(annotation: Any) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [model for argument in get_args(annotation) for model in models_in(argument)]

    def type_of(annotation: Any) -> str:
        origin, arguments = get_origin(annotation), get_args(annotation)
        if origin is Annotated:
            return type_of(arguments[0])
        if origin is Literal:
            return " or ".join(str(value) for value in arguments)
        if origin in (Union, UnionType):
            kinds = [type_of(argument) for argument in arguments if argument is not type(None)]
            return " or ".join(dict.fromkeys(kinds)) + (
                f" (one of {len(kinds)} forms)" if len(set(kinds)) < len(kinds) else ""
            )
        if origin is tuple:
            return f"list of {type_of(arguments[0])}"
        if origin is dict:
            return f"mapping of {type_of(arguments[0])} to {type_of(arguments[1])}"
        if annotation is Grant:  # its short form is its access alone (config/model.py, _short_grant)
            return "read or read-write, or a mapping"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return "mapping"
        named = {str: "string", bool: "true or false", int: "number", datetime: "date, or time with its zone"}
        return named.get(annotation, str(annotation))

    def default_of(field: Any) -> str:
        if field.is_required():
            return "required"
        value = field.get_default(call_default_factory=True)
        if value in (None, (), {}) or isinstance(value, BaseModel):
            return "none"
        return str(value).lower() if isinstance(value, bool) else str(value)

    rows: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            kind = type_of(field.annotation)
            description = (field.description or "").replace("|", "\\|").replace("\n", " ")
            rows.append(f"| `{path}` | {kind} | {default_of(field)} | {description} |")
            for nested in models_in(field.annotation):
                walk(nested, f"{path}[]." if get_origin(field.annotation) is tuple else f"{path}.")

    walk(Config, "")
    return (
        "# The configuration reference\n\n"
        "Every field of the config file, as `config/model.py` defines it (`make docs` writes this page from the\n"
        "model; `make test` fails where it differs). `config/example.yaml` shows them in use;\n"
        "[configuration.md](configuration.md) says how to adapt it. A key not listed here is refused.\n\n"
        "| field | type | default | what it sets |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


# Pages written whole from the code.
PAGES: dict[Path, Callable[[], str]] = {ROOT / "docs" / "configuration-reference.md": configuration_reference}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 where a block or page differs")
    parser.add_argument("names", nargs="*", help=f"blocks to regenerate (default: all of {', '.join(GENERATORS)})")
    args = parser.parse_args(argv)
    found = all_blocks()
    unknown = set(found) - set(GENERATORS)
    if unknown:
        print(f"error: the docs have output blocks no command makes: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    wanted = args.names or list(GENERATORS)
    outputs = {name: GENERATORS[name]() for name in wanted}
    differ = [name for name in wanted if normalize(outputs[name]) != normalize(found.get(name, ""))]
    pages = {} if args.names else {path: write() for path, write in PAGES.items()}
    differ += [
        str(path.relative_to(ROOT)) for path, text in pages.items() if not path.exists() or path.read_text() != text
    ]

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        return match.group(1) + outputs[name] + match.group(4) if name in outputs else match.group(0)

    if args.check:
        for name in differ:
            print(f"differs: {name} (make docs rewrites it)")
        return 1 if differ else 0
    for document in DOCUMENTS:
        text = document.read_text()
        if BLOCK.search(text):
            document.write_text(BLOCK.sub(replace, text))
    for path, text in pages.items():
        path.write_text(text)
    made = [*wanted, *(str(path.relative_to(ROOT)) for path in pages)]
    print(f"regenerated {', '.join(made)}; changed: {', '.join(differ) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
