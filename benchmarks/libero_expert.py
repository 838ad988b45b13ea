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
from lerobot_actioncodec.data.libero import PickPlaceExpert, libero_suite, pick_and_place_goal


def run_task(suite, suite_name: str, task_id: int, episodes: int, image_size: int, max_steps: int) -> dict:
    from lerobot.envs.libero import LiberoEnv  # imports LIBERO: after this package prepared its config and assets

    env = LiberoEnv(suite, task_id, suite_name, observation_width=image_size, observation_height=image_size,
                    obs_type="pixels_agent_pos")  # fmt: skip
    row = {"task_id": task_id, "task": env.task, "episodes": episodes, "successes": 0, "steps": []}
    try:
        env.reset(seed=0)
        try:
            obj, target = pick_and_place_goal(env._env.env.parsed_problem["goal_state"])
        except ValueError as error:
            return {**row, "episodes": 0, "not_scripted": str(error)}
        start = time.perf_counter()
        for episode in range(episodes):
            if episode:
                env.reset(seed=episode)  # the next of the task's fixed initial states
            expert = PickPlaceExpert(obj, target)
            for step in range(1, max_steps + 1):
                _, _, terminated, _, info = env.step(expert.act(env._env.env._get_observations()))
                if terminated:
                    break
            row["successes"] += bool(info["is_success"])
            row["steps"].append(step)
        row["seconds_per_episode"] = round((time.perf_counter() - start) / episodes, 1)
    finally:
        env.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", default="libero_object")
    parser.add_argument("--tasks", default="0-9", help="task ids: '0-9' or '0,3,5'")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=128, help="camera frames (rendered, not used)")
    parser.add_argument("--max-steps", type=int, default=300)
    args = parser.parse_args()
    suite = libero_suite(args.suite)
    rows = [run_task(suite, args.suite, t, args.episodes, args.image_size, args.max_steps)
            for t in tqdm(parse_task_ids(args.tasks), desc=f"{args.suite} tasks")]  # fmt: skip
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
