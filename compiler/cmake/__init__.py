"""CMake support shipped with tinyc: tinyc.cmake (tinyc_add_model) and a Cortex-M toolchain file.

`tinyc --cmake-dir` prints this folder.
"""
