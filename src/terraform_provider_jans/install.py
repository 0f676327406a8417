"""Installing the provider where `terraform init` finds it without a registry: an unpacked
filesystem mirror, `DIR/registry.terraform.io/jans/jans/<version>/<os>_<arch>/`, holding
`terraform-provider-jans_v<version>`, a launcher that runs this Python provider with the
interpreter (and so the environment) it was installed from.

The default DIR, `~/.terraform.d/plugins`, is one of Terraform's implied local mirror
directories: a plain `terraform init` uses it, offline, with no CLI configuration at all.
Any other DIR needs a CLI configuration (`TF_CLI_CONFIG_FILE`) with a `filesystem_mirror`
block for it; `cli_config()` writes one.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from terraform_provider_jans import HOSTNAME, NAMESPACE, SOURCE, TYPE, VERSION

DEFAULT_DIR = Path("~/.terraform.d/plugins")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "i386": "386", "i686": "386", "armv7l": "arm"}  # fmt: skip


def os_arch() -> str:
    """Terraform's platform name for this machine, e.g. `linux_amd64`."""
    machine = platform.machine().lower()
    return f"{platform.system().lower()}_{_ARCH.get(machine, machine)}"


def launcher(python: str) -> str:
    # -I: isolated mode. Terraform starts providers in the working directory; isolation
    # keeps a stray module there (or PYTHONPATH) from being imported instead of ours.
    return (
        "#!/bin/sh\n"
        f"# {SOURCE} {VERSION}: the Python provider, installed by "
        "`terraform-provider-jans install`.\n"
        f'exec {shlex.quote(python)} -I -m terraform_provider_jans.main "$@"\n'
    )


@dataclass(frozen=True)
class Installed:
    mirror: Path
    executable: Path
    version: str
    platform: str


def install(directory: Path | None = None, python: str | None = None) -> Installed:
    mirror = (directory or DEFAULT_DIR).expanduser().absolute()
    target = mirror / HOSTNAME / NAMESPACE / TYPE / VERSION / os_arch()
    target.mkdir(parents=True, exist_ok=True)
    executable = target / f"terraform-provider-{TYPE}_v{VERSION}"
    # Not sys.executable resolved: a virtualenv's python is a symlink that must stay one.
    interpreter = python or os.path.abspath(sys.executable)
    tmp = executable.with_name(executable.name + ".tmp")
    tmp.write_text(launcher(interpreter))
    tmp.chmod(0o755)
    tmp.replace(executable)
    return Installed(mirror, executable, VERSION, os_arch())


def cli_config(mirror: Path) -> str:
    """A Terraform CLI configuration that takes jans/jans from `mirror` and nothing of it
    from the network (no dev_overrides: `terraform init` and the lock file work as usual)."""
    path = str(mirror.expanduser().absolute()).replace("\\", "/")
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{path}"\n'
        f'    include = ["{SOURCE}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{SOURCE}"]\n'
        "  }\n"
        "}\n"
    )
