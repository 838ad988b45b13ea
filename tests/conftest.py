import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("WANDB_MODE", "disabled")
# LIBERO's config.yaml (written on import when LIBERO is installed, libero_assets.py) goes to a scratch folder,
# not the user's ~/.libero
os.environ.setdefault("LIBERO_CONFIG_PATH", tempfile.mkdtemp(prefix="libero_config_"))

import pytest  # noqa: E402
import torch  # noqa: E402

import lerobot_actioncodec  # noqa: E402,F401  (registers the policy types for Python-API use)

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    """A saved tiny tokenizer checkpoint: 4 tokens over 64 codes, 10-step chunks of 3-D actions."""
    from .helpers import tiny_policy

    path = tmp_path_factory.mktemp("tokenizer") / "pretrained_model"
    tiny_policy().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def rvq_tokenizer_dir(tmp_path_factory):
    """The tiny tokenizer's RVQ form: 3 levels of 4 tokens over 64 codes each."""
    from .helpers import tiny_policy

    path = tmp_path_factory.mktemp("rvq_tokenizer") / "pretrained_model"
    tiny_policy(rvq_levels=3).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A small LeRobotDataset written with LeRobotDataset.create: 6 episodes x 40 frames, 3-D, 10 fps."""
    from lerobot_actioncodec.data.synthetic import SyntheticSpec, write_synthetic_dataset

    root = tmp_path_factory.mktemp("data") / "tiny"
    spec = SyntheticSpec(num_episodes=6, episode_length=40, action_dim=3, fps=10, image_size=8, seed=1)
    write_synthetic_dataset(root, "local/tiny", spec)
    return "local/tiny", root


# LeRobot's vendored test file runs through tests/test_lerobot_policy_contract.py, never on its own (its own
# parametrisation reads LeRobot's policies' Hub datasets).
collect_ignore = ["lerobot_upstream"]
