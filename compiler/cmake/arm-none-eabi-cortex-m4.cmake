# A CMake toolchain file for bare-metal Cortex-M4 with the GNU Arm Embedded toolchain
# (arm-none-eabi-gcc on the PATH; Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi):
#
#   cmake -S . -B build-m4 -DCMAKE_TOOLCHAIN_FILE="$(tinyc --cmake-dir)/arm-none-eabi-cortex-m4.cmake"
#
# Soft-float ABI by default; for Cortex-M4F boards pass
# -DTINYC_ARM_FLAGS="-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard".
# Executables link against newlib-nano with the nosys stubs, unused sections dropped.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No semihosting or startup code is assumed: CMake's compiler checks build a library, not a
# program.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(TINYC_ARM_FLAGS "-mcpu=cortex-m4 -mthumb" CACHE STRING "Arm core and ABI flags")
set(CMAKE_C_FLAGS_INIT "${TINYC_ARM_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT
    "${TINYC_ARM_FLAGS} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
