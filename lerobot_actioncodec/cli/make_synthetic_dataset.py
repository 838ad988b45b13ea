"""actioncodec-make-synthetic-dataset: write a smooth synthetic LeRobotDataset for offline training."""

from __future__ import annotations

import argparse

from ..data.synthetic import SyntheticSpec, write_synthetic_dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="output directory (must not exist)")
    parser.add_argument("--repo-id", default="local/synthetic_smooth")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--episode-length", type=int, default=100)
    parser.add_argument("--action-dim", type=int, default=7)
    parser.add_argument("--fps", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=0, help="0: no camera feature")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = SyntheticSpec(args.episodes, args.episode_length, args.action_dim, args.fps, args.image_size, args.seed)
    dataset = write_synthetic_dataset(args.root, args.repo_id, spec)
    print(
        f"wrote {dataset.meta.total_episodes} episodes, {dataset.meta.total_frames} frames "
        f"at {spec.fps} fps to {args.root}"
    )


if __name__ == "__main__":
    main()
