"""Coarse plan targets (Coarse-to-Control, equations 3-4): chunk sums of the motion, the gripper's last value,
absolute targets, padding at episode ends, the horizon in seconds, and bad input."""

import pytest
import torch

from lerobot_actioncodec.coarse_plan import coarse_plan, gripper_dimensions, plan_source_steps


def test_motion_is_summed_per_chunk_and_the_gripper_keeps_its_last_value():
    # H_p = 6 actions of (dx, dy, gripper) in K = 3 plan steps of c = 2
    actions = torch.tensor([[[1.0, 0.0, -1.0], [2.0, 1.0, 1.0], [0.5, 0.5, 1.0],
                             [0.5, -2.0, -1.0], [3.0, 0.0, -1.0], [0.0, 4.0, 1.0]]])  # fmt: skip
    plan, pad = coarse_plan(actions, 3, gripper_dims=[2])
    expected = torch.tensor([[[3.0, 1.0, 1.0], [1.0, -1.5, -1.0], [3.0, 4.0, 1.0]]])
    torch.testing.assert_close(plan, expected)
    assert not pad.any()
    # the net motion is kept: summing the plan gives the window's total displacement
    torch.testing.assert_close(plan[..., :2].sum(1), actions[..., :2].sum(1))


def test_absolute_targets_take_the_chunks_last_value_in_every_dimension():
    positions = torch.arange(12.0).view(1, 6, 2)
    plan, _ = coarse_plan(positions, 2, gripper_dims=[1], absolute=True)
    torch.testing.assert_close(plan, positions[:, [2, 5]])


def test_steps_past_the_episode_end_are_not_motion_and_empty_plan_steps_are_padding():
    # LeRobot repeats the last frame past the end and flags it in action_is_pad
    actions = torch.tensor([[[1.0, 0.5], [1.0, 0.7], [2.0, 0.9], [2.0, 0.9], [2.0, 0.9], [2.0, 0.9]]])
    is_pad = torch.tensor([[False, False, False, True, True, True]])
    plan, pad = coarse_plan(actions, 3, gripper_dims=[1], is_pad=is_pad)
    torch.testing.assert_close(plan[0, :2], torch.tensor([[2.0, 0.7], [2.0, 0.9]]))  # 2nd: only its real step
    assert pad.tolist() == [[False, False, True]]
    absolute, _ = coarse_plan(actions, 3, absolute=True, is_pad=is_pad)
    torch.testing.assert_close(absolute[0, 1], torch.tensor([2.0, 0.9]))  # the last real position, not a copy


def test_the_plan_horizon_is_set_in_seconds_per_embodiment():
    assert plan_source_steps(fps=20, plan_seconds=8.0, plan_steps=20) == 160  # the paper's LIBERO setting
    assert plan_source_steps(fps=20, plan_seconds=2.0, plan_steps=20) == 40  # its 40-step ablation
    assert plan_source_steps(fps=80, plan_seconds=1.0, plan_steps=20) == 80  # MetaWorld: 1 s is 80 steps
    assert plan_source_steps(fps=5, plan_seconds=1.0, plan_steps=20) == 20  # at least one action per plan step
    assert gripper_dimensions(["x", "y", "z", "roll", "pitch", "yaw", "gripper"]) == [6]
    assert gripper_dimensions(["shoulder_pan.pos", "gripper.pos"]) == [1]
    assert gripper_dimensions(["delta_x", "gripper_effort"]) == [1]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: coarse_plan(torch.zeros(6, 2), 3), r"actions shape=\(6, 2\): expected \[B, H_p, D\]"),
        (lambda: coarse_plan(torch.zeros(1, 6, 2), 4), "plan_steps=4: expected a positive divisor of .*H_p=6"),
        (lambda: coarse_plan(torch.zeros(1, 6, 2), 3, gripper_dims=[2]), r"gripper_dims=\[2\]: \[2\] outside"),
        (
            lambda: coarse_plan(torch.zeros(1, 6, 2), 3, is_pad=torch.zeros(1, 5, dtype=torch.bool)),
            r"is_pad shape=\(1, 5\): expected \[B, H_p\] = \[1, 6\]",
        ),
        (lambda: plan_source_steps(fps=0, plan_seconds=1.0, plan_steps=2), "expected all three positive"),
    ],
)
def test_bad_input_names_the_field(call, match):
    with pytest.raises(ValueError, match=match):
        call()
