"""The command-line arguments and the printed summary that the demonstration collectors share."""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any

from ..data.collection import SIZES, CollectionSummary


def collector_parser(doc: str, repo_id: str, defaults: Any) -> argparse.ArgumentParser:
    """A collector's parser with the arguments every collector takes (--root, --repo-id, --episodes-per-task,
    --attempts-per-episode, --video, --no-progress; defaults from the collector's settings class `defaults`); the
    caller adds its own, --image-size and --max-steps among them."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # LeRobot's AV1 encoder (SVT-AV1) prints ~25 info lines per episode; keep errors only unless asked.
    os.environ.setdefault("SVT_LOG", "1")
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root", required=True, help="dataset directory (created, or resumed if it holds a collection)"
    )
    parser.add_argument("--repo-id", default=repo_id)
    parser.add_argument("--episodes-per-task", type=int, default=defaults.episodes_per_task,
                        help="episodes kept per task")  # fmt: skip
    parser.add_argument("--attempts-per-episode", type=int, default=defaults.attempts_per_episode,
                        help="give up on a task after episodes x this many attempts")  # fmt: skip
    parser.add_argument(
        "--video", action=argparse.BooleanOptionalAction, default=True,
        help="camera frames as MP4 (default, faster to train on) or, with --no-video, as PNG files",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def shared_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every collector takes, from the parsed arguments."""
    return {**{name: getattr(args, name) for name in SIZES}, "video": args.video}


def print_summary(summary: CollectionSummary) -> None:
    """The JSON a collector prints when it is done."""
    print(json.dumps({
        "root": summary.root,
        "episodes": summary.episodes,
        "attempts": summary.attempts,
        "new_episodes": summary.new_episodes,
        "new_frames": summary.new_frames,
        "seconds": round(summary.seconds, 1),
        "seconds_per_frame": round(summary.seconds_per_frame, 4) if summary.new_frames else None,
    }, indent=2))  # fmt: skip
