"""actioncodec-collect-metaworld: MetaWorld's scripted experts -> a LeRobotDataset for lerobot-train.

The dataset has the keys, state and action layout, task strings and fps that `lerobot-eval --env.type=metaworld`
gives a policy. Running the same command again resumes an interrupted collection (or does nothing when it is
complete); raising --episodes-per-task or adding tasks extends it.
"""

from __future__ import annotations

from ..data.metaworld import DEFAULT_TASKS, EPISODE_LIMIT, EVAL_IMAGE_SIZE, CollectionSettings, collect_metaworld
from .collection_args import collector_parser, print_summary, shared_settings


def main(argv: list[str] | None = None) -> None:
    parser = collector_parser(__doc__, "local/metaworld_experts", CollectionSettings)
    parser.add_argument(
        "--tasks", default=",".join(DEFAULT_TASKS),
        help="comma-separated task names (push-v3, ...) or LeRobot's groups (easy, medium, hard, very_hard)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--image-size", type=int, default=EVAL_IMAGE_SIZE,
        help=f"square camera frames in pixels; lerobot-eval renders {EVAL_IMAGE_SIZE}, smaller collects faster",
    )  # fmt: skip
    parser.add_argument("--action-noise", type=float, default=0.0, help="std of Gaussian noise on expert actions")
    parser.add_argument("--max-steps", type=int, default=EPISODE_LIMIT, help="drop attempts not done by then")
    args = parser.parse_args(argv)
    settings = CollectionSettings(
        tasks=tuple(t for t in args.tasks.split(",") if t.strip()),
        seed=args.seed,
        action_noise=args.action_noise,
        **shared_settings(args),
    )
    print_summary(collect_metaworld(args.root, args.repo_id, settings, progress=not args.no_progress))


if __name__ == "__main__":
    main()
