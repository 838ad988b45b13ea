"""actioncodec-collect-metaworld: MetaWorld's scripted experts -> a LeRobotDataset for lerobot-train.

The dataset has the keys, state and action layout, task strings and fps that `lerobot-eval --env.type=metaworld`
gives a policy. Running the same command again resumes an interrupted collection (or does nothing when it is
complete); raising --episodes-per-task or adding tasks extends it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

from ..data.metaworld import DEFAULT_TASKS, EPISODE_LIMIT, EVAL_IMAGE_SIZE, CollectionSettings, collect_metaworld


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # LeRobot's AV1 encoder (SVT-AV1) prints ~25 info lines per episode; keep errors only unless asked.
    os.environ.setdefault("SVT_LOG", "1")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root", required=True, help="dataset directory (created, or resumed if it holds a collection)"
    )
    parser.add_argument("--repo-id", default="local/metaworld_experts")
    parser.add_argument(
        "--tasks", default=",".join(DEFAULT_TASKS),
        help="comma-separated task names (push-v3, ...) or LeRobot's groups (easy, medium, hard, very_hard)",
    )  # fmt: skip
    parser.add_argument("--episodes-per-task", type=int, default=CollectionSettings.episodes_per_task)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--image-size", type=int, default=EVAL_IMAGE_SIZE,
        help=f"square camera frames in pixels; lerobot-eval renders {EVAL_IMAGE_SIZE}, smaller collects faster",
    )  # fmt: skip
    parser.add_argument("--action-noise", type=float, default=0.0, help="std of Gaussian noise on expert actions")
    parser.add_argument("--max-steps", type=int, default=EPISODE_LIMIT, help="drop attempts not done by then")
    parser.add_argument("--attempts-per-episode", type=int, default=CollectionSettings.attempts_per_episode)
    parser.add_argument(
        "--video", action=argparse.BooleanOptionalAction, default=True,
        help="store camera frames as MP4 (default, faster to train on) or, with --no-video, as PNG files",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = CollectionSettings(
        tasks=tuple(t for t in args.tasks.split(",") if t.strip()),
        episodes_per_task=args.episodes_per_task,
        seed=args.seed,
        image_size=args.image_size,
        action_noise=args.action_noise,
        max_steps=args.max_steps,
        attempts_per_episode=args.attempts_per_episode,
        video=args.video,
    )
    summary = collect_metaworld(args.root, args.repo_id, settings, progress=not args.no_progress)
    print(
        json.dumps(
            {
                "root": summary.root,
                "episodes": summary.episodes,
                "attempts": summary.attempts,
                "new_episodes": summary.new_episodes,
                "new_frames": summary.new_frames,
                "seconds": round(summary.seconds, 1),
                "seconds_per_frame": round(summary.seconds_per_frame, 4) if summary.new_frames else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
