"""The pipeline's test step: it passes only when every consumer proves its access, and names the failure."""

from __future__ import annotations

import io

from pipeline_steps.prove_consumers import WAVE_VARIABLE, ProofTarget, Wave, main, prove, report

WAVE = Wave(
    partition="aws",
    function="datashare-prod-consumer",
    role="datashare-prod-pipeline-proof",
    targets=(
        ProofTarget("analytics", "555555555555", "eu-west-1"),
        ProofTarget("reporting", "666666666666", "eu-central-1"),
    ),
)
ENVIRON = {WAVE_VARIABLE: WAVE.encode()}
PASSING = {"ok": True, "checks": [{"name": "list-bucket", "ok": True, "detail": "listed"}]}


def test_passes_when_every_consumer_proves_access_and_invokes_each_with_its_own_role():
    calls = []

    def invoke(function, region, role, payload):
        calls.append((function, region, role, payload))
        return PASSING

    assert main(ENVIRON, invoke) == 0
    assert calls == [
        ("datashare-prod-consumer", "eu-west-1", "arn:aws:iam::555555555555:role/datashare-prod-pipeline-proof",
         {"action": "self-check"}),
        ("datashare-prod-consumer", "eu-central-1", "arn:aws:iam::666666666666:role/datashare-prod-pipeline-proof",
         {"action": "self-check"}),
    ]  # fmt: skip


def test_the_wave_survives_its_encoding_and_stays_small():
    assert Wave.decode(WAVE.encode()) == WAVE
    many = Wave(
        "aws-us-gov", "f" * 64, "r" * 64, tuple(ProofTarget("c" * 20, "1" * 12, "us-gov-west-1") for _ in range(49))
    )
    assert Wave.decode(many.encode()) == many
    assert len(many.encode()) < 3000  # 49 consumers of the longest names


def test_fails_naming_the_consumer_and_the_failed_check():
    def invoke(function, region, role, payload):
        if region == "eu-central-1":
            return {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied: no"}]}
        return PASSING

    proofs = prove(WAVE, invoke)
    out = io.StringIO()
    assert report(proofs, out) is False
    assert "FAIL  reporting" in out.getvalue()
    assert "read-object: AccessDenied: no" in out.getvalue()
    assert "1 of 2 consumers proved access" in out.getvalue()
    assert main(ENVIRON, invoke) == 1


def test_an_invoke_error_is_a_failure_not_a_crash():
    def invoke(function, region, role, payload):
        raise RuntimeError("function error: boom")

    proofs = prove(WAVE, invoke)
    assert [p.ok for p in proofs] == [False, False]
    assert proofs[0].failures == ("invoke failed: function error: boom",)


def test_a_result_without_ok_is_a_failure():
    proofs = prove(WAVE, lambda *args: {"checks": []})
    assert [p.ok for p in proofs] == [False, False]


def test_missing_wave_is_a_usage_error():
    assert main({}, lambda *args: PASSING) == 2
