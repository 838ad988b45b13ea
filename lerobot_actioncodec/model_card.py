"""The model card (README.md) every checkpoint of the package carries, and what `push_to_hub` publishes.

It states what a person needs before using a checkpoint: the policy type, its action tokenizer, the embodiments,
the data it was trained on (LeRobot hands the policy its dataset's metadata during lerobot-train) and metrics
measured while training (means over the last training batches the saving process saw). Nothing in it is
needed to load the checkpoint.
"""

from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from huggingface_hub import ModelCard, ModelCardData

CARD_FILE = "README.md"
METRIC_WINDOW = 100  # training batches averaged for the card's metrics
MAX_TASKS_LISTED = 20

Rows = list[tuple[str, Any]]


class MetricWindow:
    """Means of the logged training metrics over the last `size` batches."""

    def __init__(self, size: int = METRIC_WINDOW):
        self.values: dict[str, deque[float]] = {}
        self.size, self.batches = size, 0

    def update(self, loss: float, logs: dict[str, Any]) -> None:
        self.batches += 1
        for name, value in {"loss": loss, **logs}.items():
            if isinstance(value, int | float):
                self.values.setdefault(name, deque(maxlen=self.size)).append(float(value))

    def means(self) -> dict[str, tuple[float, int]]:
        """{metric: (mean, batches averaged)}"""
        return {name: (sum(v) / len(v), len(v)) for name, v in sorted(self.values.items())}


def dataset_summary(meta: Any) -> Rows | None:
    """Rows about a LeRobotDatasetMetadata (None when the policy was built without a dataset)."""
    if meta is None:
        return None
    tasks = [str(task) for task in meta.tasks.index]
    listed = ", ".join(f'"{task}"' for task in tasks[:MAX_TASKS_LISTED])
    if len(tasks) > MAX_TASKS_LISTED:
        listed += f" and {len(tasks) - MAX_TASKS_LISTED} more"
    return [
        ("dataset", f"`{meta.repo_id}`"),
        ("robot type", f"`{meta.robot_type}`" if meta.robot_type else "not recorded"),
        ("episodes", meta.total_episodes),
        ("frames", meta.total_frames),
        ("fps", meta.fps),
        ("tasks", listed or "none recorded"),
    ]


def table(rows: Rows, header: tuple[str, str] = ("", "")) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def render_card(
    policy_type: str,
    summary: str,
    sections: list[tuple[str, Rows]],
    dataset: Rows | None,
    dataset_repo_id: str | None,
    metrics: dict[str, tuple[float, int]],
    batches: int,
    tags: list[str] | None = None,
    license: str | None = None,
) -> ModelCard:
    data = ModelCardData(
        license=license or "apache-2.0",
        library_name="lerobot",
        pipeline_tag="robotics",
        tags=sorted({"robotics", "lerobot", "lerobot-actioncodec", policy_type, *(tags or [])}),
        model_name=policy_type,
        datasets=[dataset_repo_id] if dataset_repo_id else None,
    )
    body = [f"# {policy_type}", "", summary, ""]
    for title, rows in sections:
        body += [f"## {title}", "", table(rows), ""]
    body += ["## Training data", ""]
    body += [table(dataset) if dataset else "Not recorded: this checkpoint was saved outside lerobot-train.", ""]
    body += ["## Measured during training", ""]
    if metrics:
        body += [f"Means over the last training batches (up to {METRIC_WINDOW}) of the {batches} this process "
                 "trained before saving; lerobot-train's log has every step.", ""]  # fmt: skip
        body += [table([(f"`{k}`", f"{mean:.4g} ({n} batches)") for k, (mean, n) in metrics.items()],
                       ("metric", "mean"))]  # fmt: skip
    else:
        body += ["No training batch was seen before this checkpoint was saved."]
    load = f"get_policy_class('{policy_type}').from_pretrained('<this repository or directory>')"
    body += ["", "## Use", "", "```bash", "pip install lerobot_policy_actioncodec",
             f'python -c "from lerobot.policies.factory import get_policy_class; {load}"', "```", ""]  # fmt: skip
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body))


class ModelCardMixin:
    """Mixed into the package's policies (listed before PreTrainedPolicy): `save_pretrained` writes README.md and
    `push_to_hub` publishes the same card. A policy gives `card_summary` and `card_sections()`, and passes each
    training step's (loss, logs) through `tracked()`."""

    card_summary: ClassVar[str] = ""

    def card_sections(self) -> list[tuple[str, Rows]]:
        return []

    def tracked(self, loss: Any, logs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """forward's return value, recorded for the card when training."""
        if self.training:
            if "_metric_window" not in self.__dict__:
                self._metric_window = MetricWindow()
            self._metric_window.update(float(loss.detach()), logs)
        return loss, logs

    def model_card(self, tags: list[str] | None = None, license: str | None = None) -> ModelCard:
        window = self.__dict__.get("_metric_window") or MetricWindow()
        parameters = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        sections = [("Model", [("type", f"`{self.config.type}`"), ("parameters", f"{parameters:,}"),
                               ("trainable parameters", f"{trainable:,}")])]  # fmt: skip
        meta = getattr(self.config, "_runtime_dataset_meta", None)
        return render_card(self.config.type, self.card_summary, sections + self.card_sections(), dataset_summary(meta),
                           getattr(meta, "repo_id", None), window.means(), window.batches, tags, license)  # fmt: skip

    def write_model_card(self, directory: Path) -> None:
        self.model_card(self.config.tags, self.config.license).save(str(Path(directory) / CARD_FILE))

    def _save_pretrained(self, save_directory: Path, state_dict: Any = None) -> None:
        super()._save_pretrained(save_directory, state_dict=state_dict)
        self.write_model_card(save_directory)

    def generate_model_card(self, dataset_repo_id: str, model_type: str, license: str | None,
                            tags: list[str] | None, **kwargs: Any) -> ModelCard:  # fmt: skip
        """What LeRobot's push_model_to_hub publishes: the package's card, not LeRobot's generic template."""
        return self.model_card(tags, license)
