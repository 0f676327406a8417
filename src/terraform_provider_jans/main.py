"""`terraform-provider-jans`: the plugin Terraform runs, and its installer.

    terraform-provider-jans install [--dir DIR] [--cli-config FILE]
    terraform-provider-jans schema            # the provider's schemas as JSON
    terraform-provider-jans version

Started by Terraform (environment TF_PLUGIN_MAGIC_COOKIE set), it serves the plugin.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from terraform_provider_jans import SOURCE, VERSION

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


def serve(argv: list[str]) -> None:
    from terraform_provider_jans.provider import JansProvider
    from terraform_provider_jans.tfbridge import run_provider

    run_provider(JansProvider(), argv)


def _install(args: argparse.Namespace) -> int:
    from terraform_provider_jans.install import DEFAULT_DIR, cli_config, install

    installed = install(Path(args.dir) if args.dir else None)
    print(f"Installed {SOURCE} {installed.version} ({installed.platform})")
    print(f"  executable: {installed.executable}")
    print(f"  mirror:     {installed.mirror}")
    default = DEFAULT_DIR.expanduser().absolute()
    if args.cli_config:
        Path(args.cli_config).write_text(cli_config(installed.mirror))
        print(f"  CLI config: {args.cli_config} (export TF_CLI_CONFIG_FILE={args.cli_config})")
    elif installed.mirror != default:
        print("  This is not an implied local mirror: point Terraform at it with a CLI")
        print("  configuration (TF_CLI_CONFIG_FILE) containing:\n")
        print(cli_config(installed.mirror))
    else:
        print("  `terraform init` finds it there (an implied local mirror), offline.")
    return 0


def _schema(_: argparse.Namespace) -> int:
    from terraform_provider_jans.docs import schema_json

    print(json.dumps(schema_json(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> None:
    args_in = sys.argv[1:] if argv is None else argv
    if not args_in and os.environ.get(MAGIC_COOKIE_KEY):
        if os.environ[MAGIC_COOKIE_KEY] != MAGIC_COOKIE:
            raise SystemExit("terraform-provider-jans: unexpected plugin magic cookie")
        serve([sys.argv[0]])
        return
    parser = argparse.ArgumentParser(
        prog="terraform-provider-jans",
        description=f"Terraform provider {SOURCE} {VERSION}. Terraform starts it as a "
        "plugin; run `install` to make it available to `terraform init`.",
    )
    commands = parser.add_subparsers(dest="command")
    install_cmd = commands.add_parser("install", help="install into a filesystem mirror")
    install_cmd.add_argument(
        "--dir", help="mirror directory (default: ~/.terraform.d/plugins, an implied mirror)"
    )
    install_cmd.add_argument(
        "--cli-config", help="also write a Terraform CLI configuration file for the mirror"
    )
    install_cmd.set_defaults(run=_install)
    schema_cmd = commands.add_parser("schema", help="print the provider's schemas as JSON")
    schema_cmd.set_defaults(run=_schema)
    version_cmd = commands.add_parser("version", help="print the version")
    version_cmd.set_defaults(run=lambda _: print(VERSION) or 0)
    args = parser.parse_args(args_in)
    if not getattr(args, "run", None):
        parser.print_help()
        print(
            "\nThis is a Terraform plugin: Terraform runs it. Install it with "
            "`terraform-provider-jans install`.",
            file=sys.stderr,
        )
        raise SystemExit(1)
    raise SystemExit(args.run(args))


if __name__ == "__main__":
    main()
