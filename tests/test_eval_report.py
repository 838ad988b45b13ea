"""actioncodec-eval-report: success per task from lerobot-eval's eval_info.json."""

import json

import pytest

from lerobot_actioncodec.cli.eval_report import format_table, main, success_per_task

EVAL_INFO = {
    "per_task": [
        {"task_group": "drawer-close-v3", "task_id": 0,
         "metrics": {"sum_rewards": [1, 2, 3], "max_rewards": [10.0, 4.0, 10.0], "successes": [True, False, True]}},
        {"task_group": "reach-v3", "task_id": 0,
         "metrics": {"sum_rewards": [1], "max_rewards": [2.0], "successes": [False]}},
    ],
    "overall": {"pc_success": 50.0, "n_episodes": 4},
}  # fmt: skip


def test_rows_and_table():
    rows = success_per_task(EVAL_INFO)
    assert [(r["task"], r["episodes"], r["successes"]) for r in rows] == [("drawer-close-v3", 3, 2), ("reach-v3", 1, 0)]
    assert rows[0]["success_rate"] == pytest.approx(2 / 3) and rows[0]["mean_max_reward"] == pytest.approx(8.0)
    table = format_table(rows)
    assert "| drawer-close-v3 | 3 | 2 | 67% | 8.00 |" in table and "| **all** | 4 | 2 | 50% | |" in table


def test_libero_tasks_of_one_suite_are_named_by_suite_and_id():
    def entry(task_id: int) -> dict:
        return {"task_group": "libero_object", "task_id": task_id, "metrics": {"successes": [True]}}

    rows = success_per_task({"per_task": [entry(0), entry(2)]})
    assert [row["task"] for row in rows] == ["libero_object/0", "libero_object/2"]
    assert success_per_task({"per_task": [entry(3)]})[0]["task"] == "libero_object/3"


def test_cli_writes_json_and_rejects_other_files(tmp_path, capsys):
    (tmp_path / "eval_info.json").write_text(json.dumps(EVAL_INFO))
    main(["--eval-dir", str(tmp_path), "--output", str(tmp_path / "success.json")])
    assert "drawer-close-v3" in capsys.readouterr().out
    assert json.loads((tmp_path / "success.json").read_text())[1]["task"] == "reach-v3"
    with pytest.raises(SystemExit, match="no eval_info.json"):
        main(["--eval-dir", str(tmp_path / "nothing")])
    with pytest.raises(ValueError, match="no 'per_task'"):
        success_per_task({"overall": {}})


def test_several_labelled_runs_give_one_row_each(tmp_path, capsys):
    for name, successes in (("binning", [False, False]), ("actioncodec", [True, True])):
        info = {"per_task": [{"task_group": "drawer-close-v3", "task_id": 0,
                              "metrics": {"max_rewards": [10.0, 6.0], "successes": successes}}]}  # fmt: skip
        (tmp_path / name / "eval").mkdir(parents=True)
        (tmp_path / name / "eval" / "eval_info.json").write_text(json.dumps(info))
    main(["--eval-dir", f"bins={tmp_path / 'binning' / 'eval'}", "--eval-dir", str(tmp_path / "actioncodec" / "eval"),
          "--output", str(tmp_path / "success.json")])  # fmt: skip
    printed = capsys.readouterr().out
    assert "| bins | 2 | 0 | 0% | 8.00 |" in printed and "| actioncodec | 2 | 2 | 100% | 8.00 |" in printed
    assert sorted(json.loads((tmp_path / "success.json").read_text())) == ["actioncodec", "bins"]


def test_rollout_log_summary_and_boundary_table(tmp_path, capsys):
    import torch

    from lerobot_actioncodec.rollout_log import RolloutLog, summarize_rollout_log

    log = RolloutLog(tmp_path / "run" / "rollout_log.jsonl")
    first = torch.tensor([[[0.0, 0.0], [0.1, 0.0], [0.2, 0.1]]])  # in-chunk steps 0.1, 0.1
    log.record(0, first, None, invalid=0, repaired=0)  # an episode's first chunk: no boundary
    log.record(0, first + 0.5, first[:, -1], invalid=1, repaired=1)  # jump max(|0.5 - 0.2|, |0.5 - 0.1|) = 0.4
    log.record(1, first, None, invalid=0, repaired=0)
    summary = summarize_rollout_log(log.path)
    assert summary["chunks"] == 3 and summary["boundaries"] == 1
    assert (summary["invalid_chunks"], summary["repaired_chunks"]) == (1, 1)
    assert summary["jump_max"] == pytest.approx(0.4) and summary["jump_mean"] == pytest.approx(0.4)
    assert summary["in_chunk_step_mean"] == pytest.approx(0.1)
    (tmp_path / "run" / "eval_info.json").write_text(json.dumps(EVAL_INFO))
    main(["--eval-dir", f"fast={tmp_path / 'run'}"])
    assert "| fast | 3 | 1 | 1 | 1 | 0.4000 | 0.4000 | 0.1000 |" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "rollout_summary.json").read_text())["boundaries"] == 1


def _eval_info(results: dict[str, list[bool]]) -> dict:
    return {"per_task": [{"task_group": task, "task_id": 0, "metrics": {"successes": s, "max_rewards": []}}
                         for task, s in results.items()]}  # fmt: skip


def test_success_curves_per_step_task_and_difficulty_group(tmp_path, capsys):
    from lerobot_actioncodec.cli.success_curves import main as curves_main

    # reach-v3 is in LeRobot's "easy" group, assembly-v3 in "hard"
    steps = {
        "fast": {100: ([False] * 4, [False] * 4), 200: ([True, False, False, False], [False] * 4)},
        "actioncodec": {100: ([True, True, False, False], [False] * 4), 200: ([True] * 4, [True, False] * 2)},
    }
    for run, by_step in steps.items():
        for step, (reach, assembly) in by_step.items():
            (tmp_path / run / str(step)).mkdir(parents=True)
            info = _eval_info({"reach-v3": reach, "assembly-v3": assembly})
            (tmp_path / run / str(step) / "eval_info.json").write_text(json.dumps(info))
    curves_main(["--run", f"fast={tmp_path / 'fast'}", "--run", f"actioncodec={tmp_path / 'actioncodec'}",
                 "--output", str(tmp_path / "curves.png")])  # fmt: skip
    out = capsys.readouterr().out
    assert "| fast | 0% | 12% |" in out and "| actioncodec | 25% | 75% |" in out
    assert "| reach-v3 | easy | 1/4 | 4/4 |" in out and "| assembly-v3 | hard | 0/4 | 2/4 |" in out
    assert "| easy | 25% | 100% |" in out and "| hard | 0% | 50% |" in out
    assert (tmp_path / "curves.png").stat().st_size > 0
    record = json.loads((tmp_path / "curves.json").read_text())
    assert record["runs"]["actioncodec"]["200"]["rates"] == {"all": 0.75, "easy": 1.0, "hard": 0.5}
    with pytest.raises(SystemExit, match="no <step>/eval_info.json"):
        curves_main(["--run", f"x={tmp_path / 'nothing'}"])
