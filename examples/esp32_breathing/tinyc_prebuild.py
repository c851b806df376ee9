"""PlatformIO pre-build step (platformio.ini: extra_scripts = pre:tinyc_prebuild.py).

Runs the pre-build script that ships with the installed tinyc (the path `tinyc
--platformio-script` prints), so this file stays the same when tinyc is upgraded; that script
compiles the models listed in custom_tinyc_models into the build. Set custom_tinyc to the tinyc
command if it is not on the PATH of PlatformIO's shell.
"""

import shlex
import subprocess
import sys

Import("env")  # noqa: F821  (SCons, inside PlatformIO)

command = shlex.split(env.GetProjectOption("custom_tinyc", "tinyc")) or ["tinyc"]  # noqa: F821
try:
    found = subprocess.run([*command, "--platformio-script"], capture_output=True, text=True)
except FileNotFoundError:
    found = None
if found is None or found.returncode != 0:
    print(f"tinyc: error: {command[0]} not found: pip install tinyc, or set custom_tinyc in "
          "platformio.ini", file=sys.stderr)
    env.Exit(1)  # noqa: F821
else:
    env.SConscript(found.stdout.strip(), exports="env")  # noqa: F821
