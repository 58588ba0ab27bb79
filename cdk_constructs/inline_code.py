"""A function's code inside its template: for the consumer stacks a StackSet deploys to a group's accounts.

A StackSet's template cannot name a CDK asset: the assets are in the tooling account's bootstrap bucket, which the
group's accounts cannot read, and Lambda takes code from S3 only in the function's own region. CloudFormation's inline
code (ZipFile) travels with the template instead, but it is one file, index.py. So the runtime package is zipped into
that file: on its first import, in a new execution environment, index.py writes the archive to /tmp and imports the
package from it (Python's zipimport), then hands every invocation to the package's handler.

The archive is built the same way from the same files every time (fixed order and dates), so an unchanged runtime
makes an unchanged template and no update of the group's stacks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

LOADER = '''"""{description}: the package {package} (zipped, base64), imported from /tmp."""
import base64
import os
import sys

ARCHIVE = "{archive}"
PATH = "/tmp/{package}-{digest}.zip"
if not os.path.exists(PATH):
    with open(PATH + ".part", "wb") as part:
        part.write(base64.b64decode(ARCHIVE))
    os.replace(PATH + ".part", PATH)
sys.path.insert(0, PATH)

from {module} import {function} as handler  # noqa: E402
'''
# Every file of the archive is dated thus (zip's earliest date): the same files make the same archive.
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
HANDLER = "index.handler"


def inline_package(root: Path, package: str, handler: str, *, description: str) -> str:
    """index.py holding the package under root (its .py files) and handing HANDLER to `handler` (module.function)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((root / package).rglob("*.py")):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    module, function = handler.rsplit(".", 1)
    code = LOADER.format(
        description=description,
        package=package,
        archive=base64.b64encode(data).decode(),
        digest=hashlib.sha256(data).hexdigest()[:12],
        module=module,
        function=function,
    )
    # It counts towards the template's size, which the groups' stack checks (stacks/groups_stack.py).
    return code
