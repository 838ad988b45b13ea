"""MuJoCo offscreen rendering on machines without a display (MetaWorld collection, lerobot-eval).

MuJoCo picks its GL backend from MUJOCO_GL when `mujoco` is first imported; left unset on a headless machine
it tries GLFW, which fails with an obscure "OpenGL platform library has not been loaded" error.
"""

from __future__ import annotations

import ctypes.util
import os
import sys


class RenderingUnavailableError(RuntimeError):
    """MuJoCo cannot render offscreen on this machine."""


def osmesa_installed() -> bool:
    return ctypes.util.find_library("OSMesa") is not None


def default_headless_renderer() -> None:
    """Choose OSMesa (CPU) when nothing was chosen, no display exists and OSMesa is installed.

    Runs when the package is imported, which LeRobot's scripts do before they build an env, so
    `lerobot-eval --env.type=metaworld` works headless without extra variables. An explicit MUJOCO_GL
    (e.g. egl on a GPU machine) always wins.
    """
    if "MUJOCO_GL" in os.environ or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if osmesa_installed():
        os.environ["MUJOCO_GL"] = "osmesa"
        os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        _use_osmesa_in_imported_mujoco()


def _use_osmesa_in_imported_mujoco() -> None:
    """MuJoCo fixes its GL backend when first imported. LeRobot imports plugins in no fixed order, and another one
    (lerobot-env-so101 imports MuJoCo at module level) may have imported it before the choice above, leaving it on
    GLFW, which cannot open a context without a display; point its context class at OSMesa."""
    gl_context = sys.modules.get("mujoco.gl_context")
    if gl_context is None or getattr(gl_context, "_MUJOCO_GL", None) not in ("", "glfw"):
        return
    from mujoco.osmesa import GLContext

    gl_context.GLContext = GLContext
    sys.modules["mujoco"].GLContext = GLContext


def configure_renderer() -> str:
    """Default MuJoCo to OSMesa (CPU) rendering, check its library, and return the backend name.

    Must run before `mujoco` is imported.
    """
    os.environ.setdefault("MUJOCO_GL", "osmesa")
    backend = os.environ["MUJOCO_GL"].lower()
    if backend == "osmesa":
        os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        if not osmesa_installed():
            raise RenderingUnavailableError(
                "MUJOCO_GL=osmesa but the OSMesa library is not installed: install it with "
                "`apt-get install libosmesa6` (Debian/Ubuntu) or `conda install -c conda-forge mesalib`, "
                "or set MUJOCO_GL=egl on a machine with a GPU"
            )
    return backend
