"""What MetaWorld collection and reading its dataset cost on this machine's CPU.

1. Seconds per frame of an expert rollout (LeRobot's MetaworldEnv step + OSMesa render) at several sizes.
2. Seconds per `dataset[i]` of a freshly collected dataset, frames stored as MP4 vs PNG, for a single frame
   and with a chunk of action steps (LeRobot's delta timestamps, as lerobot-train asks for a tokenizer).
Usage: python benchmarks/metaworld_collection.py [--sizes 64,128,224,480] [--chunk 41]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import timed

from lerobot_actioncodec.data.metaworld import (
    FPS,
    CollectionSettings,
    collect_metaworld,
    import_lerobot_metaworld,
    make_env,
    rollout_expert,
)


def rollout_seconds_per_frame(task: str, size: int) -> float:
    env = make_env(import_lerobot_metaworld(), task, size)
    try:
        start = time.perf_counter()
        frames, _ = rollout_expert(env, np.random.default_rng(0), 0.0, 500)
        return (time.perf_counter() - start) / len(frames)
    finally:
        env.close()


def read_seconds(root: Path, chunk: int | None) -> float:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    delta = {"action": [i / FPS for i in range(chunk)]} if chunk else None
    dataset = LeRobotDataset("local/bench", root=root, delta_timestamps=delta)
    indices = np.linspace(0, len(dataset) - 1, 64).astype(int)
    return timed(lambda: [dataset[int(i)] for i in indices], 1) / len(indices)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", default="push-v3")
    parser.add_argument("--sizes", default="64,128,224,480")
    parser.add_argument("--chunk", type=int, default=41, help="action steps per item (0.5 s at 80 Hz + 1)")
    args = parser.parse_args()
    print(f"| image size | rollout s/frame ({args.task}, step + render) |")
    print("|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"| {size} | {rollout_seconds_per_frame(args.task, size):.3f} |")

    print(f"\n| frames stored as | ms per item, 1 frame | ms per item, {args.chunk}-step action chunk |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for video in (True, False):
            root = Path(tmp) / ("mp4" if video else "png")
            settings = CollectionSettings(
                tasks=("reach-v3", args.task), episodes_per_task=2, image_size=64, video=video
            )
            collect_metaworld(root, "local/bench", settings, progress=False)
            single, chunked = read_seconds(root, None), read_seconds(root, args.chunk)
            print(f"| {'MP4' if video else 'PNG'} | {single * 1e3:.1f} | {chunked * 1e3:.1f} |")


if __name__ == "__main__":
    main()
