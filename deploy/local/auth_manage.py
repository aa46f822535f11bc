"""``make promote``: runs the auth service's operator commands with the local stack's settings.

The local auth service keeps its keys in ``deploy/local/.secrets``; an operator command must use
the same ones (phones are encrypted with them), so it runs with exactly the environment
``make run`` gives the auth process.
"""

from __future__ import annotations

import os
import subprocess
import sys

from deploy.local.environment import LOCAL_PORTS, local_infrastructure, process_env


def main(argv: list[str]) -> int:
    env = {**os.environ, **process_env("auth", LOCAL_PORTS, local_infrastructure())}
    command = [sys.executable, "-m", "auth.manage", *argv]
    return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
