"""``veil site``: what the site file (``site.json``) presets on this workstation, and what is
wrong with it; for the site's IT to check a file before deploying it (``docs/SITE.md``)."""

from __future__ import annotations

import argparse

from desktop.cli.support import safe


def cmd_site(args: argparse.Namespace) -> int:
    from desktop.app.site.defaults import ENV_VAR, site_defaults

    defaults = site_defaults()
    print(f"Site file: {safe(str(defaults.path))}" + ("" if defaults.found else f" (none; ${ENV_VAR} names another)"))
    if defaults.policy is not None:
        print(f"Site policy: {safe(defaults.policy.name)}")
        for line in defaults.policy.text.splitlines():
            print(f"  {safe(line)}")
    for node in defaults.nodes:
        print(f"Node (from the site): {safe(node.name)}  {safe(node.describe())}")
    if defaults.collector is not None:
        lock = "locked" if defaults.collector.locked else "a default the user may change"
        print(f"Audit collector: {defaults.collector.destination} ({lock})")
    for template in defaults.templates:
        print(f"Scanner templates: {safe(str(template))}")
    for problem in defaults.problems:
        print(f"Problem: {safe(problem)}")
    return 1 if defaults.problems else 0


def add_site_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("site", help="show the site defaults (site.json) and any problem in them",
                       description="Show what the site file presets (site policy, network nodes, audit collector, "
                                   "scanner templates) and any problem found in it; exits 1 when there is one.")
    p.set_defaults(func=cmd_site)
