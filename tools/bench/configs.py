"""The generated configs the benchmarks synthesize."""

from __future__ import annotations


def header(*, organization: bool) -> list[str]:
    """The lines every generated config starts with, up to its environments."""
    return [
        "project: bench",
        'tooling: {account: "111111111111", region: eu-west-1}',
        "repository: {codecommit_repository: data-sharing}",
        *(["organization_id: o-benchmark01"] if organization else []),
        "consumer_image: public.ecr.aws/example/consumer:1.0",
        "environments:",
    ]


def config_with(consumers: int, *, environments: int = 2, organization: bool = True) -> str:
    """`consumers` split over `environments` (dev-like env0, env1, ...), all in eu-west-1; granted by organization
    (the mode meant for many accounts) unless told otherwise."""
    lines = header(organization=organization)
    for e in range(environments):
        count = consumers // environments + (1 if e < consumers % environments else 0)
        if count == 0:
            continue
        lines += [f"  - name: env{e}", f'    source: {{account: "{200000000000 + e:012d}", region: eu-west-1}}']
        lines.append("    consumers:")
        lines += [
            f'      - {{name: c{i}, account: "{300000000000 + e * 100_000 + i:012d}", region: eu-west-1}}'
            for i in range(count)
        ]
    return "\n".join(lines) + "\n"
