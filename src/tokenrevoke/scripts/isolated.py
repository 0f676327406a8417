"""Validating a script in a child interpreter.

Validation runs the script's top-level code. In the server's own process a script that
calls `os._exit()`, crashes the interpreter or leaves threads spinning would take the
server with it, so the config API validates in a short-lived child process instead and
refuses (400) whatever does not come back cleanly.
"""

from __future__ import annotations

import subprocess
import sys

from tokenrevoke.scripts.revoke_token import ScriptError

VERDICT = "@@tokenrevoke-verdict@@ "
# The script's own output goes to a throwaway buffer; only the runner writes the verdict.
_RUNNER = f"""
import io, os, sys
verdict = os.fdopen(os.dup(1), "w")
sys.stdout = io.StringIO()
from tokenrevoke.scripts.revoke_token import ScriptError, validate_revoke_script
try:
    validate_revoke_script(sys.stdin.read(), timeout=float(sys.argv[1]))
except ScriptError as exc:
    verdict.write("\\n{VERDICT}INVALID " + str(exc).replace("\\n", " "))
else:
    verdict.write("\\n{VERDICT}VALID")
verdict.flush()
os._exit(0)
"""
_STARTUP_ALLOWANCE = 10.0


def validate_in_subprocess(source: str, *, timeout: float = 1.0) -> None:
    """Raise ScriptError unless `source` is a usable Revoke Token script, judged by a
    child interpreter that is killed if it outlives `timeout` (plus start-up time)."""
    try:
        result = subprocess.run(
            [sys.executable, "-I", "-c", _RUNNER, str(timeout)],
            input=source,
            capture_output=True,
            text=True,
            timeout=timeout + _STARTUP_ALLOWANCE,
        )
    except subprocess.TimeoutExpired:
        raise ScriptError(f"the script did not finish loading within {timeout:g} s") from None
    last = result.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    if result.returncode == 0 and last == f"{VERDICT}VALID":
        return
    if result.returncode == 0 and last.startswith(f"{VERDICT}INVALID "):
        raise ScriptError(last.removeprefix(f"{VERDICT}INVALID "))
    raise ScriptError(
        f"loading the script ended its interpreter (exit status {result.returncode}); "
        "a script must not exit or crash the process"
    )
