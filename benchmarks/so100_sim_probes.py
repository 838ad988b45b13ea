"""Measurements of the simulated SO-100 (`so100_sim`) that docs/so100.md quotes, on this machine.

  render  time to render one 128 px camera frame with the arm drawn as its collision hulls (the scene's view)
          against its visual meshes (MuJoCo's default view), the same scene, frames and renderer settings.
  leader  the scripted leader (so100_sim_leader) driving the follower under the deploy's per-step cap
          (--robot.max_relative_target): its largest lead over the present position (arm joints in degrees,
          gripper in points) and how many episodes it still placed the cube in.
  policy  an open-loop check of a trained policy: from the home pose, with the cube placed on a grid over its
          area, the chunk the policy predicts against the scripted leader's first chunk-length of motion. A policy
          that sees the cube turns the arm as the leader does (slope near 1 of its shoulder_pan against the
          leader's across cubes); one that ignores it plans the same chunk for every cube (slope near 0).

Usage: python benchmarks/so100_sim_probes.py render [--frames 200]
       python benchmarks/so100_sim_probes.py leader [--episodes 8] [--max-relative-target 10]
       python benchmarks/so100_sim_probes.py policy --policy-path <a checkpoint's pretrained_model directory>
"""

from __future__ import annotations

import argparse
import logging
import time

import mujoco
import numpy as np
import torch
from tqdm import tqdm

import lerobot_actioncodec  # noqa: F401  (registers so100_sim and the policy types, as LeRobot's plugin discovery does)
from lerobot_actioncodec.so100_sim.config_so100_sim import SO100SimConfig
from lerobot_actioncodec.so100_sim.config_so100_sim_leader import SO100SimLeaderConfig
from lerobot_actioncodec.so100_sim.expert import ScriptedPickPlace
from lerobot_actioncodec.so100_sim.scene import CAMERA, HULL_VIEW, MOTOR_KEYS, PickPlaceScene, SceneLayout
from lerobot_actioncodec.so100_sim.so100_sim import SO100Sim
from lerobot_actioncodec.so100_sim.so100_sim_leader import SO100SimLeader

TASK = "Put the cube on the green spot"  # scripts/so100_sim_demo.sh's task string
ARM_KEYS = MOTOR_KEYS[:-1]


def probe_render(frames: int, size: int) -> None:
    scene = PickPlaceScene(width=size, height=size)
    renderer = mujoco.Renderer(scene.model, height=size, width=size)
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False  # as the scene renders
    print(f"| arm drawn as | ms per {size} px frame ({frames} frames) |")
    print("|---|---:|")
    for name, view in (("collision hulls (the scene's view)", HULL_VIEW), ("visual meshes", mujoco.MjvOption())):
        renderer.update_scene(scene.data, camera=CAMERA, scene_option=view)
        renderer.render()  # warm-up
        start = time.perf_counter()
        for _ in range(frames):
            renderer.update_scene(scene.data, camera=CAMERA, scene_option=view)
            renderer.render()
        print(f"| {name} | {(time.perf_counter() - start) / frames * 1e3:.1f} |")
    renderer.close()
    scene.close()


def probe_leader(episodes: int, cap: float, seed: int) -> None:
    robot = SO100Sim(SO100SimConfig(seed=seed, max_relative_target=cap, episode_clock="sim", episode_time_s=10.0,
                                    end_on_success=True))  # fmt: skip
    leader = SO100SimLeader(SO100SimLeaderConfig())
    robot.connect()
    leader.connect()
    logging.getLogger().setLevel(logging.ERROR)  # LeRobot warns at every capped step; they are counted instead
    arm_lead = gripper_lead = 0.0
    steps = capped = 0
    with tqdm(total=episodes, desc="leader episodes") as bar:
        while len(robot.scene.results) < episodes:
            present = robot.get_observation()
            action = leader.get_action()
            lead = {key: abs(action[key] - present[key]) for key in MOTOR_KEYS}
            arm_lead = max(arm_lead, *(lead[key] for key in ARM_KEYS))
            gripper_lead = max(gripper_lead, lead["gripper.pos"])
            steps += 1
            capped += max(lead.values()) > cap
            robot.send_action(action)
            bar.update(len(robot.scene.results) - bar.n)
    results = robot.scene.results[:episodes]
    leader.disconnect()
    robot.disconnect()
    print("| max_relative_target | episodes | placed | steps capped | largest lead, arm joints (deg) | "
          "largest lead, gripper |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {cap:g} | {episodes} | {sum(r.success for r in results)} | {capped} of {steps} | {arm_lead:.1f} "
          f"| {gripper_lead:.1f} |")  # fmt: skip


def probe_policy(path: str, grid: int, seed: int) -> None:
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors
    from lerobot.policies.utils import prepare_observation_for_inference

    config = PreTrainedConfig.from_pretrained(path)
    config.device = "cpu"
    policy = get_policy_class(config.type).from_pretrained(path, config=config).eval()
    preprocessor, _ = make_pre_post_processors(config, pretrained_path=path)
    steps = policy.config.chunk_length
    image_keys = list(policy.config.image_features)  # observation.images.front (and .wrist): the scene's cameras
    size = policy.config.image_features[image_keys[0]].shape[-1]
    low, high = SceneLayout().cube_low, SceneLayout().cube_high
    cubes = [(x, y) for x in np.linspace(low[0], high[0], grid) for y in np.linspace(low[1], high[1], grid)]
    planned, led = [], []
    torch.manual_seed(seed)
    for cube in tqdm(cubes, desc="cube positions"):
        scene = PickPlaceScene(layout=SceneLayout(cube_low=cube, cube_high=cube), width=size, height=size)
        state = np.asarray([scene.joint_positions()[key] for key in MOTOR_KEYS], dtype=np.float32)
        frame = {"observation.state": state, **{key: scene.render(key.rsplit(".", 1)[-1]) for key in image_keys}}
        batch = preprocessor(prepare_observation_for_inference(frame, torch.device("cpu"), TASK, "so100_sim"))
        with torch.inference_mode():
            planned.append(policy.predict_chunk(batch)[0].numpy())
        expert = ScriptedPickPlace(scene)
        moves = []
        for _ in range(steps):
            action = expert.action()
            moves.append([action[key] for key in MOTOR_KEYS])
            scene.step(action)
        led.append(np.asarray(moves))
        scene.close()
    planned, led = np.stack(planned), np.stack(led)  # [cubes, steps, 6]
    print(f"{len(cubes)} cube positions ({grid} x {grid} over x {low[0]}-{high[0]} m, y {low[1]}-{high[1]} m), "
          f"{steps}-step chunks from the home pose; greedy decoding")  # fmt: skip
    print(
        "| joint | slope of the policy's target at the chunk's end on the leader's, across cubes | "
        "spread across cubes, policy / leader (deg) | mean error to the leader over the chunk (deg) |"
    )
    print("|---|---:|---:|---:|")
    for j, key in enumerate(MOTOR_KEYS):
        end_policy, end_leader = planned[:, -1, j], led[:, -1, j]
        spread = end_leader.std()
        slope = np.polyfit(end_leader, end_policy, 1)[0] if spread > 1e-6 else float("nan")
        error = np.abs(planned[:, :, j] - led[:, :, j]).mean()
        print(f"| {key} | {slope:.2f} | {end_policy.std():.1f} / {spread:.1f} | {error:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe", choices=("render", "leader", "policy"))
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--max-relative-target", type=float, default=10.0)
    parser.add_argument("--policy-path")
    parser.add_argument("--grid", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.probe == "render":
        probe_render(args.frames, args.size)
    elif args.probe == "leader":
        probe_leader(args.episodes, args.max_relative_target, args.seed)
    else:
        if args.policy_path is None:
            parser.error("the policy probe needs --policy-path (a checkpoint's pretrained_model directory)")
        probe_policy(args.policy_path, args.grid, args.seed)


if __name__ == "__main__":
    main()
