"""The pipeline's test step: it passes only when every consumer proves its access, and names the failure."""

from __future__ import annotations

import io

from pipeline_steps.prove_consumers import TARGETS_VARIABLE, ProofTarget, encode_targets, main, prove, report

TARGETS = [
    ProofTarget("analytics", "555555555555", "eu-west-1", "FUNCTION_0", "PROOF_ROLE_0"),
    ProofTarget("reporting", "666666666666", "eu-central-1", "FUNCTION_1", "PROOF_ROLE_1"),
]
ENVIRON = {
    TARGETS_VARIABLE: encode_targets(TARGETS),
    "FUNCTION_0": "fn-analytics",
    "PROOF_ROLE_0": "arn:aws:iam::555555555555:role/datashare-prod-pipeline-proof",
    "FUNCTION_1": "fn-reporting",
    "PROOF_ROLE_1": "arn:aws:iam::666666666666:role/datashare-prod-pipeline-proof",
}
PASSING = {"ok": True, "checks": [{"name": "list-bucket", "ok": True, "detail": "listed"}]}


def test_passes_when_every_consumer_proves_access_and_invokes_each_with_its_own_role():
    calls = []

    def invoke(function, region, role, payload):
        calls.append((function, region, role, payload))
        return PASSING

    assert main(ENVIRON, invoke) == 0
    assert calls == [
        ("fn-analytics", "eu-west-1", ENVIRON["PROOF_ROLE_0"], {"action": "self-check"}),
        ("fn-reporting", "eu-central-1", ENVIRON["PROOF_ROLE_1"], {"action": "self-check"}),
    ]


def test_fails_naming_the_consumer_and_the_failed_check():
    def invoke(function, region, role, payload):
        if function == "fn-reporting":
            return {"ok": False, "checks": [{"name": "read-object", "ok": False, "detail": "AccessDenied: no"}]}
        return PASSING

    outcomes = prove(TARGETS, ENVIRON, invoke)
    out = io.StringIO()
    assert report(outcomes, out) is False
    assert "FAIL  reporting" in out.getvalue()
    assert "read-object: AccessDenied: no" in out.getvalue()
    assert "1 of 2 consumers proved access" in out.getvalue()
    assert main(ENVIRON, invoke) == 1


def test_an_invoke_error_or_missing_output_is_a_failure_not_a_crash():
    def invoke(function, region, role, payload):
        raise RuntimeError("function error: boom")

    environ = {k: v for k, v in ENVIRON.items() if k != "FUNCTION_1"}
    outcomes = prove(TARGETS, environ, invoke)
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].failures == ("invoke failed: function error: boom",)
    assert outcomes[1].failures == ("stack outputs missing: FUNCTION_1",)


def test_a_result_without_ok_is_a_failure():
    outcomes = prove(TARGETS[:1], ENVIRON, lambda *args: {"checks": []})
    assert outcomes[0].ok is False


def test_missing_targets_is_a_usage_error():
    assert main({}, lambda *args: PASSING) == 2
