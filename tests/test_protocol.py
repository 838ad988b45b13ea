"""The multi-task MetaWorld protocol (scripts/metaworld_protocol.sh) in its quick version: two tasks learned and
one evaluated, a few steps, one run with one evaluated checkpoint, so that the script, its presets and the success
curves cannot rot. The run is Coarse-to-Control's separate-tokenizer ablation, which needs both the tokenizer
benchmark's ActionCodec and scripts/plan_benchmark.sh's planning codec, so every stage of the script runs. A
MetaWorld episode of an untrained policy runs all its 500 steps, so evaluations are what this test spends its
time on. Beside it, the first run trains `actioncodec_tok6` (the autoregressive head on an ActionCodec tokenizer
trained 6 steps instead of 4), with its tokenizer and its figure. It also runs again and finds everything done,
which is how it resumes after an interruption."""

import json
import os
import subprocess
from pathlib import Path

import draccus
import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"TASKS": "reach-v3,drawer-close-v3", "EVAL_TASKS": "drawer-close-v3", "EPISODES_PER_TASK": "2",
         "TOKENIZER_STEPS": "4", "POLICY_STEPS": "2", "SAVE_FREQ": "2", "EVAL_EPISODES": "1",
         "RUNS": "actioncodec_plan_separate", "PLAN_SECONDS": "1"}  # fmt: skip
RUN = "actioncodec_plan_separate"
LONGER_TOKENIZER = "actioncodec_tok6"


def test_presets_parse_with_lerobots_config_classes():
    from lerobot.configs.eval import EvalPipelineConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    train = draccus.parse(TrainPipelineConfig, config_path=str(ROOT / "configs/protocol/metaworld_policy.json"),
                          args=["--dataset.repo_id=local/x", "--policy.type=actioncodec_pd"])  # fmt: skip
    assert type(train.policy).__name__ == "ActionCodecPDConfig" and train.policy.backbone == "compact"
    assert train.save_freq * 4 == train.steps  # checkpoints at 1/4, 1/2, 3/4 and all of the budget
    evaluation = draccus.parse(EvalPipelineConfig, config_path=str(ROOT / "configs/eval/metaworld_protocol.json"),
                               args=[])  # fmt: skip
    assert len(evaluation.env.task.split(",")) == 12 and evaluation.eval.n_episodes == 10


def _run(out: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **QUICK, "OUT": str(out), **extra}
    return subprocess.run(["bash", str(ROOT / "scripts/metaworld_protocol.sh")], capture_output=True, text=True,
                          env=env, timeout=2400)  # fmt: skip


@pytest.mark.slow
def test_quick_protocol_writes_curves_per_step_and_resumes(tmp_path):
    # jobs at once, each job's output in its log; the rerun below is sequential and of RUN alone
    proc = _run(tmp_path, JOBS="2", RUNS=f"{RUN} {LONGER_TOKENIZER}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = tmp_path / "runs"
    longer = tmp_path / "tokenizers" / "metaworld" / "actioncodec_6" / "checkpoints"
    assert (longer / "000006" / "pretrained_model" / "model.safetensors").is_file()
    policy = runs / LONGER_TOKENIZER / "policy" / "checkpoints" / "000002" / "pretrained_model"
    assert json.loads((policy / "train_config.json").read_text())["policy"]["tokenizer_path"].endswith(
        "actioncodec_6/checkpoints/last/pretrained_model"
    )
    record = json.loads((tmp_path / "tokenizer_steps.json").read_text())
    assert set(record["runs"]) == {LONGER_TOKENIZER}  # actioncodec was not run here
    assert "End of training" in (runs / RUN / "train.log").read_text()
    assert "End of eval" in (runs / RUN / "eval" / "2.log").read_text()
    assert sorted(p.name for p in (runs / RUN / "eval").iterdir()) == ["2", "2.log"]
    plans = tmp_path / "tokenizers" / "metaworld" / "plans"
    assert (plans / "plan_bench_1s.md").is_file() and "[plan mode]" in (plans / "plan_bench_1s.md").read_text()
    checkpoint = runs / RUN / "policy" / "checkpoints" / "000002" / "pretrained_model"
    saved = json.loads((checkpoint / "config.json").read_text())
    assert saved["plan_mode"] == "separate" and saved["plan_tokenizer_info"]["plan_horizon"] == 80  # 1 s at 80 Hz
    record = json.loads((tmp_path / "plans.json").read_text())
    assert set(record["runs"]) == {RUN} and set(record["runs"][RUN]) == {"2"}
    tasks = {row["task"] for row in record["runs"][RUN]["2"]["tasks"]}
    assert tasks == {"drawer-close-v3"}  # EVAL_TASKS: the policy learns both, one is evaluated
    boundaries = record["chunk_boundaries"][RUN]
    assert boundaries["boundaries"] == boundaries["chunks"] - 1 > 0  # one episode: every chunk but the first
    assert "largest jump" in (tmp_path / "plans.md").read_text()
    assert (tmp_path / "plans.png").stat().st_size > 0 and not (tmp_path / "tokenizers.png").exists()
    evaluated = (runs / RUN / "eval" / "2" / "eval_info.json").stat().st_mtime
    again = _run(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "lerobot-train --policy.type" not in again.stdout and f"-- {RUN}, step" not in again.stdout
    assert (runs / RUN / "eval" / "2" / "eval_info.json").stat().st_mtime == evaluated
