"""A one-page PNG report of a tokenizer on a dataset: true vs reconstructed action curves, codebook usage.

Uses matplotlib's object API (`Figure`), so it never needs a display or a global backend switch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .evaluation import TokenizedChunks


def example_indices(num_chunks: int, num_examples: int) -> list[int]:
    """Evenly spread chunk indices, so the examples come from different episodes."""
    count = min(num_examples, num_chunks)
    return sorted({int(i) for i in np.linspace(0, num_chunks - 1, count)})


def plot_tokenizer_report(
    tokenized: TokenizedChunks,
    codebook_size: int,
    path: str | Path,
    fps: float,
    action_names: list[str] | None = None,
    metrics: dict[str, float] | None = None,
    num_examples: int = 3,
) -> Path:
    """Write the report PNG to `path` and return it."""
    chunks, reconstruction = tokenized.chunks.numpy(), tokenized.reconstruction.float().numpy()
    picks = example_indices(len(chunks), num_examples)
    dims = chunks.shape[-1]
    names = action_names if action_names and len(action_names) == dims else [f"dim {d}" for d in range(dims)]
    time = np.arange(chunks.shape[1]) / fps
    colors = [f"C{d % 10}" for d in range(dims)]

    figure = Figure(figsize=(4.2 * len(picks), 7.5), layout="constrained")
    grid = figure.add_gridspec(2, len(picks), height_ratios=[1.3, 1.0])
    for column, index in enumerate(picks):
        axis = figure.add_subplot(grid[0, column])
        for d in range(dims):
            axis.plot(time, chunks[index, :, d], color=colors[d], label=names[d])
            axis.plot(time, reconstruction[index, :, d], color=colors[d], linestyle="--")
        axis.set_title(f"chunk {index}: true (solid) vs decoded (dashed)", fontsize=9)
        axis.set_xlabel("time in chunk [s]")
        if column == 0:
            axis.set_ylabel("action (raw units)")
            axis.legend(fontsize=7, loc="best")

    level0 = tokenized.tokens[:, 0] if tokenized.tokens.ndim == 3 else tokenized.tokens
    counts = torch.bincount(level0.reshape(-1).long(), minlength=codebook_size).numpy()
    used = int((counts > 0).sum())
    axis = figure.add_subplot(grid[1, :])
    axis.bar(np.arange(codebook_size), counts, width=1.0, color="C0")
    axis.set_xlim(-0.5, codebook_size - 0.5)
    axis.set_xlabel("code id")
    axis.set_ylabel("count")
    axis.set_title(
        f"codebook usage: {used} of {codebook_size} codes ({used / codebook_size:.0%}) over {len(chunks)} chunks"
    )
    if metrics:
        keys = ("reconstruction_relative_mae", "overlap_rate", "codebook_usage", "artifact_entropy_bits")
        figure.suptitle("   ".join(f"{k} = {metrics[k]:.3f}" for k in keys if k in metrics), fontsize=10)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def short_label(name: str, width: int = 36) -> str:
    """A tokenizer's name for a plot: a long checkpoint path in it keeps only its end."""
    if len(name) <= width:
        return name
    head, _, rest = name.partition(" (")
    if not rest:
        return name[: width - 3] + "..."
    tail = rest[-(width - len(head) - 6) :]
    return f"{head} (.../{tail[tail.find('/') + 1 :]}"


def plot_benchmark(
    chunks: Tensor,
    reconstructions: dict[str, Tensor],
    metrics: dict[str, dict[str, float]],
    path: str | Path,
    fps: float,
    num_examples: int = 3,
) -> Path:
    """Top: true vs each tokenizer's decoded chunk (first action dimension) for a few chunks.
    Bottom: overlap rate against relative reconstruction MAE, one point per tokenizer."""
    picks = example_indices(len(chunks), num_examples)
    time = np.arange(chunks.shape[1]) / fps
    figure = Figure(figsize=(4.2 * len(picks), 8.0), layout="constrained")
    grid = figure.add_gridspec(2, len(picks), height_ratios=[1.2, 1.0])
    for column, index in enumerate(picks):
        axis = figure.add_subplot(grid[0, column])
        axis.plot(time, chunks[index, :, 0].numpy(), color="black", linewidth=2.5, label="true")
        for number, (name, decoded) in enumerate(reconstructions.items()):
            axis.plot(time, decoded[index, :, 0].float().numpy(), color=f"C{number % 10}", linestyle="--", label=name)
        axis.set_title(f"chunk {index}, action dim 0", fontsize=9)
        axis.set_xlabel("time in chunk [s]")
        if column == 0:
            axis.set_ylabel("action (raw units)")
            handles, labels = axis.get_legend_handles_labels()
    figure.legend(handles, [short_label(label) for label in labels], loc="outside upper center", ncols=4, fontsize=8)
    axis = figure.add_subplot(grid[1, :])
    for number, (name, values) in enumerate(metrics.items()):
        x, y = values["reconstruction_relative_mae"], values["overlap_rate"]
        axis.scatter([x], [y], color=f"C{number % 10}", s=60)
        axis.annotate(short_label(name), (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    axis.set_xlabel("relative reconstruction MAE (lower is better)")
    axis.set_ylabel("overlap rate (higher is better)")
    axis.grid(alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def plot_learning_curves(curves: dict[str, dict[str, list[float]]], path: str | Path, title: str) -> Path:
    """Overlap rate (with its chance level dotted), relative reconstruction MAE and codebook usage against the
    training step, one line per run."""
    panels = (("overlap_rate", "overlap rate (dotted: chance)"), ("reconstruction_relative_mae", "relative MAE"),
              ("codebook_usage", "codebook usage"))  # fmt: skip
    figure = Figure(figsize=(13.5, 3.8), layout="constrained")
    axes = figure.subplots(1, len(panels))
    for number, (name, curve) in enumerate(curves.items()):
        color = f"C{number % 10}"
        for axis, (key, label) in zip(axes, panels, strict=True):
            axis.plot(curve["step"], curve[key], marker="o", color=color, label=name)
            axis.set_xlabel("training step")
            axis.set_ylabel(label)
            axis.grid(alpha=0.3)
        axes[0].plot(curve["step"], curve["chance_overlap_rate"], linestyle=":", color=color)
    return _save_with_legend(figure, axes[0], title, path)


def plot_success_curves(curves: dict[str, dict[str, dict[int, float]]], path: str | Path, title: str) -> Path:
    """Success rate against the training step, one line per run: all tasks, then one panel per task group.
    `curves[run][group][step]` is a success rate in [0, 1]; group "all" is the first panel."""
    groups = list(dict.fromkeys(group for curve in curves.values() for group in curve))
    figure = Figure(figsize=(3.6 * len(groups), 3.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(groups)))
    for number, (name, curve) in enumerate(curves.items()):
        for axis, group in zip(axes, groups, strict=True):
            points = sorted(curve.get(group, {}).items())
            if points:
                steps, rates = zip(*points, strict=True)
                axis.plot(steps, [100 * r for r in rates], marker="o", color=f"C{number % 10}", label=name)
            axis.set_title(group, fontsize=9)
            axis.set_xlabel("training step")
            axis.set_ylim(-3, 103)
            axis.grid(alpha=0.3)
    axes[0].set_ylabel("success rate (%)")
    return _save_with_legend(figure, axes[0], title, path)


def _save_with_legend(figure: Figure, legend_axis, title: str, path: str | Path) -> Path:
    """The curve figures' common ending: legend on the first panel, title, PNG written (folders created)."""
    legend_axis.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
