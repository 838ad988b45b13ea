"""Success of the scripted pick-and-place expert (lerobot_actioncodec/data/libero.py) in LeRobot's own LIBERO env,
per task, from LIBERO's fixed initial states; prints a markdown table and a JSON line. Usage:
  python benchmarks/libero_expert.py --suite libero_object --tasks 0-9 --episodes 5
Tasks whose goal is not one pick-and-place predicate (drawers, stoves, ...) are listed as not scripted.
"""

from __future__ import annotations

import argparse
import json
import time

from tqdm import tqdm

from lerobot_actioncodec.cli.collect_libero import parse_task_ids
from lerobot_actioncodec.data.libero import LiberoCollectionSettings, LiberoExpertTask, libero_suite


def run_task(suite, settings: LiberoCollectionSettings, task_id: int, episodes: int) -> dict:
    """The expert from initial states 0..episodes-1 of one task, with the collector's own rollouts."""
    try:
        task = LiberoExpertTask(suite, task_id, settings)
    except ValueError as error:
        return {"task_id": task_id, "task": suite.get_task(task_id).language, "episodes": 0, "not_scripted": str(error)}
    row = {"task_id": task_id, "task": task.description, "episodes": episodes, "successes": 0, "steps": []}
    try:
        start = time.perf_counter()
        for attempt in range(episodes):
            frames, success = task.rollout(attempt)
            row["successes"] += success
            row["steps"].append(len(frames))
        row["seconds_per_episode"] = round((time.perf_counter() - start) / episodes, 1)
    finally:
        task.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="libero_object")
    parser.add_argument("--tasks", default="0-9", help="task ids: '0-9' or '0,3,5'")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=128, help="camera frames (rendered, as the collector)")
    parser.add_argument("--max-steps", type=int, default=300)
    args = parser.parse_args()
    suite, task_ids = libero_suite(args.suite), parse_task_ids(args.tasks)
    settings = LiberoCollectionSettings(suite=args.suite, task_ids=task_ids, image_size=args.image_size,
                                        max_steps=args.max_steps)  # fmt: skip
    rows = [run_task(suite, settings, t, args.episodes) for t in tqdm(task_ids, desc=f"{args.suite} tasks")]
    print("| task | successes | mean steps | s per episode |\n|---|---:|---:|---:|")
    for row in rows:
        if "not_scripted" in row:
            print(f"| {row['task']} | not scripted | | |")
            continue
        mean_steps, seconds = sum(row["steps"]) / len(row["steps"]), row["seconds_per_episode"]
        print(f"| {row['task']} | {row['successes']}/{row['episodes']} | {mean_steps:.0f} | {seconds} |")
    scripted = [r for r in rows if "not_scripted" not in r]
    total = sum(r["successes"] for r in scripted), sum(r["episodes"] for r in scripted)
    print(f"all scripted tasks: {total[0]}/{total[1]}")
    print(json.dumps({"suite": args.suite, "image_size": args.image_size, "rows": rows}))


if __name__ == "__main__":
    main()
