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
