"""Terraform provider `jans/jans` (registry.terraform.io/jans/jans), written in Python.

A plain HTTP client of the Janssen config API: it imports nothing from the server.
"""

from __future__ import annotations

VERSION = "0.1.0"
HOSTNAME = "registry.terraform.io"
NAMESPACE = "jans"
TYPE = "jans"
SOURCE = f"{HOSTNAME}/{NAMESPACE}/{TYPE}"
