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


def test_bench_fleet_measures_the_synth_once_and_a_rehearsal_per_size(monkeypatch, capsys):
    """The synth's figures do not depend on the accounts of the units (the config names units); each rehearsal's
    phases are timed in a process of its own, and its verdict against the 600 s target printed."""
    from tools.bench import fleet

    asked: list[list[str]] = []

    def child(args: list[str]) -> dict:
        asked.append(args)
        if args == ["--synth"]:
            return {"synth_seconds": 3.1, "peak_mb": 600, "pipeline_resources": 50, "pipeline_template_kb": 76,
                    "group_template_kb": 41, "largest_policies": {"sharing bucket policy": 3354}}  # fmt: skip
        accounts = int(args[1])
        return {"accounts": accounts, "passed": True, "seconds": accounts * 0.7, "peak_mb": 700, "tail": [],
                "phases": {"group's test step": accounts * 0.4}}  # fmt: skip

    monkeypatch.setattr(fleet, "_child", child)
    assert fleet.main(["100", "1000"]) == 0
    out = capsys.readouterr().out
    assert asked == [["--synth"], ["--rehearse", "100"], ["--rehearse", "1000"]]
    assert "synth of config/fleet.yaml: 3.1 s (meets the 10 s target)" in out
    assert "rehearsal with 100 accounts: passed in 70.0 s (meets the 600 s target)" in out
    assert "rehearsal with 1000 accounts: passed in 700.0 s (MISSES the 600 s target)" in out


def test_bench_fleet_synth_figures_are_the_configs(monkeypatch):
    from tools.bench import fleet

    figures = fleet.synth()
    assert figures["pipeline_resources"] < 500 and figures["group_template_kb"] < 1000
    assert "sharing bucket policy" in figures["largest_policies"]
    assert "group template managed policy" in figures["largest_policies"]
