"""PlatformIO support shipped with tinyc: the pre-build script tinyc_prebuild.py.

`tinyc --platformio-script` prints its path.
"""
