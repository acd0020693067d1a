"""Install what websession needs on a fresh Debian machine: system libraries, then Python packages.

Reads the Python dependencies from pyproject.toml (one list, no copy), installs Debian packages
only when missing, and records a stamp so a second run costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP = ROOT / "build" / ".deps-stamp"

# Device libraries the device chooser tests enumerate for real, umockdev to emulate devices,
# and the GObject bindings for devices that come and go during a test.
APT_PACKAGES = [
    "umockdev",
    "libusb-1.0-0",
    "libhidapi-hidraw0",
    "libhidapi-libusb0",
    "gir1.2-umockdev-1.0",
    "libgirepository1.0-dev",
    "libcairo2-dev",
    "pkg-config",
]


def missing_apt_packages() -> list[str]:
    if shutil.which("dpkg-query") is None:
        return []
    missing = []
    for name in APT_PACKAGES:
        probe = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        )
        if "install ok installed" not in probe.stdout:
            missing.append(name)
    return missing


def install_apt(packages: list[str]) -> None:
    if not packages:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def python_requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    reqs += project.get("x-build-requirements", [])
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    return reqs + list(build)


def main() -> int:
    extras = sys.argv[1:] or ["test"]
    reqs = python_requirements(extras)
    apt = missing_apt_packages()
    digest = hashlib.sha256("\n".join(reqs + extras).encode()).hexdigest()
    if not apt and STAMP.exists() and STAMP.read_text() == digest:
        return 0
    install_apt(apt)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *reqs],
        check=True,
    )
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
