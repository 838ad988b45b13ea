"""LeRobot's own generic policy tests, run unchanged over every policy type of this package.

`tests/lerobot_upstream/` holds LeRobot's `tests/policies/test_policies.py` at tag v0.6.1 (the pinned LeRobot)
and the helpers it imports, vendored unchanged (Apache-2.0, headers kept; see its README.md). This adapter calls
its test functions with our types in place of LeRobot's and changes only what reaches outside this machine:

- The test file imports `tests.utils`, `tests.fixtures.*` and `tests.artifacts.policies.*` from LeRobot's tree;
  those names are aliased to the vendored copies.
- Each type runs as a *variant*: the type plus the settings it cannot do without offline. The VLA heads need a
  trained action tokenizer (`tokenizer_path`, here a tiny ActionCodec RVQ tokenizer of the test's action width),
  the smolvlm backbone its built-in `tiny-random` VLM instead of a hub download, the peer tokenizer its `arch`.
  The tests that call `make_policy_config(name)` with no settings get the variant's through that one function.
- `test_policy` reads `lerobot/pusht` and `aloha` from the Hub; here it reads a local MetaWorld expert episode
  (written by actioncodec-collect-metaworld) and steps LeRobot's metaworld env. Its `require_env` decorator looks
  for a `gym_<env>` package, which MetaWorld is not, so the undecorated test body runs.
- `test_save_pretrained_with_state_dict` and `test_multikey_construction` name ACT; our type takes ACT's place.

Tests that cannot apply are skipped with the reason in `NOT_APPLICABLE` (documented in docs/architecture.md).
"""

import importlib
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies import factory

from .helpers import collect_metaworld_episode, tiny_config

ALIASES = {
    "tests.utils": "tests.lerobot_upstream.utils",
    "tests.fixtures.constants": "tests.lerobot_upstream.constants",
    "tests.fixtures.dataset_factories": "tests.lerobot_upstream.dataset_factories",
    "tests.fixtures.files": "tests.lerobot_upstream.files",
    "tests.fixtures.hub": "tests.lerobot_upstream.hub",
    "tests.artifacts.policies.save_policy_to_safetensors": "tests.lerobot_upstream.save_policy_to_safetensors",
}
for _alias, _vendored in ALIASES.items():
    sys.modules[_alias] = importlib.import_module(_vendored)

upstream = importlib.import_module("tests.lerobot_upstream.test_policies")
# LeRobot's dataset fixtures, as its conftest.py registers them (pytest_plugins)
from .lerobot_upstream.dataset_factories import *  # noqa: E402,F403
from .lerobot_upstream.files import *  # noqa: E402,F403
from .lerobot_upstream.hub import *  # noqa: E402,F403

dummy_dataset_metadata = upstream.dummy_dataset_metadata  # LeRobot's fixture: one 84x84 camera, 6-D state/action
DUMMY_ACTION_DIM, MULTIKEY_ACTION_DIM, METAWORLD_ACTION_DIM = 6, 5, 4
METAWORLD_TASK = "reach-v3"


@dataclass(frozen=True)
class Variant:
    policy_type: str
    settings: dict[str, Any] = field(default_factory=dict)
    needs_tokenizer: bool = False  # the VLA heads: a trained action tokenizer is part of their config
    controls_a_robot: bool = True  # the tokenizer types encode actions; they have no select_action

    def config_kwargs(self, tokenizer_path: str | None) -> dict[str, Any]:
        kwargs = dict(self.settings, device="cpu")
        if self.needs_tokenizer:
            kwargs["tokenizer_path"] = tokenizer_path
        return kwargs


TINY_VLM = {"backbone": "smolvlm", "vlm_model_name": "tiny-random"}
COMPACT = {"backbone": "compact", "hidden_size": 64, "num_layers": 2, "image_size": 32}
VARIANTS = {
    "actioncodec_tokenizer": Variant("actioncodec_tokenizer", {"text_encoder": "hashing"}, controls_a_robot=False),
    "peer_tokenizer-vqvla": Variant("peer_tokenizer", {"arch": "vqvla"}, controls_a_robot=False),
    "peer_tokenizer-nac": Variant("peer_tokenizer", {"arch": "nac"}, controls_a_robot=False),
    "peer_tokenizer-c2c": Variant("peer_tokenizer", {"arch": "c2c", "plan_seconds": 1.0}, controls_a_robot=False),
    **{
        f"{head}-{name}": Variant(head, backbone, needs_tokenizer=True)
        for head in ("actioncodec", "actioncodec_pd", "actioncodec_bar", "actioncodec_ki")
        for name, backbone in (("compact", COMPACT), ("smolvlm", TINY_VLM))
    },
}
NOT_APPLICABLE = {
    "test_policy/tokenizer": "a tokenizer type encodes action chunks; it has no observations to act on, so its "
    "select_action raises NotImplementedError by design (its forward is covered by our lerobot-train tests)",
    "test_backward_compatibility": "compares LeRobot's own policies with artifacts recorded from Hub datasets; our "
    "types' save/load exactness is covered by test_save_and_load_pretrained here and our own tests",
    "test_act_backbone_lr": "ACT's backbone learning rate: an ACT-only option",
    "test_act_temporal_ensembler": "ACT's temporal ensembler: an ACT-only class",
    "test_vqbet_discretize_keeps_buffers_on_device": "VQ-BeT's discretizer: a VQ-BeT-only class",
}


@pytest.fixture(scope="session")
def tokenizer_paths(tmp_path_factory):
    """A tiny ActionCodec RVQ tokenizer (3 levels, so the block-wise head has levels) per action width."""
    from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
        ActionCodecTokenizerPolicy,
    )

    paths = {}
    for dim in (DUMMY_ACTION_DIM, MULTIKEY_ACTION_DIM, METAWORLD_ACTION_DIM):
        torch.manual_seed(0)
        config = tiny_config(rvq_levels=3, output_features={"action": PolicyFeature(FeatureType.ACTION, (dim,))})
        stats = {"action": {"mean": np.zeros(dim), "std": np.ones(dim)}}
        paths[dim] = tmp_path_factory.mktemp(f"tokenizer_{dim}d") / "pretrained_model"
        ActionCodecTokenizerPolicy(config, dataset_stats=stats).save_pretrained(paths[dim])
    return {dim: str(path) for dim, path in paths.items()}


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def variant(request) -> Variant:
    return VARIANTS[request.param]


@pytest.fixture
def with_variant_settings(monkeypatch, variant, tokenizer_paths):
    """make_policy_config(name) inside the vendored tests gives the variant's settings (and ACT's name gives our
    type); returns a function that installs them for a given action width."""

    def install(action_dim: int) -> None:
        kwargs = variant.config_kwargs(tokenizer_paths[action_dim])

        def make_policy_config(policy_type: str, **overrides: Any):
            policy_type = variant.policy_type if policy_type == "act" else policy_type
            return factory.make_policy_config(policy_type, **{**kwargs, **overrides})

        def get_policy_class(name: str):
            return factory.get_policy_class(variant.policy_type if name == "act" else name)

        config_class = type(factory.make_policy_config(variant.policy_type, **kwargs))
        monkeypatch.setattr(upstream, "make_policy_config", make_policy_config)
        monkeypatch.setattr(upstream, "get_policy_class", get_policy_class)
        monkeypatch.setattr(upstream, "ACTConfig", partial(config_class, **kwargs))

    return install


def test_get_policy_and_config_classes(variant):
    upstream.test_get_policy_and_config_classes(variant.policy_type)


def test_policy_defaults(variant, with_variant_settings, dummy_dataset_metadata):
    with_variant_settings(DUMMY_ACTION_DIM)
    upstream.test_policy_defaults(dummy_dataset_metadata, variant.policy_type)


def test_save_and_load_pretrained(variant, with_variant_settings, dummy_dataset_metadata, tmp_path):
    with_variant_settings(DUMMY_ACTION_DIM)
    upstream.test_save_and_load_pretrained(dummy_dataset_metadata, tmp_path, variant.policy_type)


def test_save_pretrained_with_state_dict(variant, with_variant_settings, dummy_dataset_metadata, tmp_path):
    with_variant_settings(DUMMY_ACTION_DIM)
    upstream.test_save_pretrained_with_state_dict(dummy_dataset_metadata, tmp_path)


@pytest.mark.parametrize("multikey", [True, False])
def test_multikey_construction(variant, with_variant_settings, multikey):
    with_variant_settings(MULTIKEY_ACTION_DIM)
    upstream.test_multikey_construction(multikey)


@pytest.fixture(scope="session")
def metaworld_dataset(tmp_path_factory) -> Path:
    return collect_metaworld_episode(tmp_path_factory.mktemp("upstream_metaworld") / "experts", METAWORLD_TASK)[0]


@pytest.mark.slow
def test_policy(variant, tokenizer_paths, metaworld_dataset, monkeypatch):
    if not variant.controls_a_robot:
        pytest.skip(NOT_APPLICABLE["test_policy/tokenizer"])
    monkeypatch.setattr(upstream, "DatasetConfig", partial(upstream.DatasetConfig, root=metaworld_dataset))
    upstream.test_policy.__wrapped__(  # the body under require_env, which looks for a gym_metaworld package
        "local/metaworld_experts",
        "metaworld",
        {"task": METAWORLD_TASK},
        variant.policy_type,
        variant.config_kwargs(tokenizer_paths[METAWORLD_ACTION_DIM]),
    )


@pytest.mark.parametrize("name", [n for n in NOT_APPLICABLE if "/" not in n])
def test_not_applicable(name):
    """An upstream test that cannot apply to our types: still in the vendored file, skipped with its reason."""
    assert callable(getattr(upstream, name)), f"{name} is no longer in the vendored LeRobot tests"
    pytest.skip(NOT_APPLICABLE[name])


def test_every_upstream_test_is_run_or_skipped_with_a_reason():
    upstream_tests = {n for n in dir(upstream) if n.startswith("test_")}
    covered = {n for n in globals() if n.startswith("test_")} | set(NOT_APPLICABLE)
    assert upstream_tests <= covered, f"vendored tests neither run nor skipped here: {upstream_tests - covered}"
