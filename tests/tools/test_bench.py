from __future__ import annotations

from config.loader import parse_config
from tools.bench import __main__ as bench
from tools.bench.configs import config_with
from tools.bench.measure import measure


def test_generated_configs_are_valid_and_split_over_two_environments():
    config = parse_config(config_with(7))
    assert [len(e.consumers) for e in config.environments] == [4, 3]
    assert config.organization_id


def test_measure_reports_the_pipeline_shape_and_policy_sizes():
    row = measure(3)
    assert row["consumers"] == 3
    assert row["stages"] == 4 + 2 * 2  # fixed stages, then a sharing stage and one wave per environment
    assert row["max_actions_in_a_stage"] == 3  # two consumer deploys and the wave's test step
    assert set(row["largest_policies"]) == {"artifact bucket", "artifact key", "bucket", "key", "trust", "managed"}
    assert 10 < row["pipeline_template_kb"] < 1000
    assert row["synth_seconds"] > 0


def test_report_and_plot_are_written(tmp_path):
    rows = [
        {
            "consumers": n,
            "synth_seconds": n / 10,
            "peak_mb": 100 + n,
            "pipeline_resources": 30,
            "pipeline_template_kb": 90,
            "max_actions_in_a_stage": 3,
            "stages": 8,
            "largest_policies": {"bucket": 900},
        }
        for n in (1, 10)
    ]
    rows.append({"consumers": 1000, "synth_seconds": 80.0, "peak_mb": 900, "rejected": "the pipeline's artifact"})
    markdown = bench._markdown(rows)
    assert "| 10 | 1.0 | 110 | 30 | 90 | 3 | 8 | bucket 900 |" in markdown
    assert "| 1000 | 80.0 | 900 | rejected: the pipeline's artifact |" in markdown
    bench._plot(rows, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_enforcement_alternates_the_runs_and_prints_the_overhead(monkeypatch, capsys):
    from tools.bench import enforcement

    asked = []

    def run_once(config_path: str, enforce: bool) -> dict[str, float]:
        asked.append(enforce)
        wall = 30.0 if enforce else 25.0
        return {"wall": wall, "test": 5.0, "evaluated": 100.0 if enforce else 0.0, "distinct": 80.0, "deciding": 0.5}

    monkeypatch.setattr(enforcement, "run_once", run_once)
    assert enforcement.main(["2"]) == 0
    assert asked == [False, True, False, True]
    out = capsys.readouterr().out
    assert "  1       yes     30.0      5.0        100        80        0.50         200" in out
    assert out.rstrip().endswith("median wall: 25.0 s without, 30.0 s with enforcement: +20.0 % (target: under +20 %)")
