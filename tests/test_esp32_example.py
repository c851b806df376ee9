"""examples/esp32_breathing: the committed generated model (the Arduino IDE's, which has no
pre-build step) is what tinyc produces now, the ESP-IDF and PlatformIO builds compile the model
from the .tflite at build time (tinyc_add_model, tinyc's pre-build script: run here through
stand-ins for ESP-IDF's CMake passes and PlatformIO's environment), every build uses the same
application sources, the breath simulated on the host follows the sine (and matches TFLM step by
step), and the model plus the application logic cross-compile cleanly for 32-bit
microcontrollers.

Flash and RAM sizes of the cross builds are printed: run with `-s` to see them.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

EXAMPLE = REPO / "examples" / "esp32_breathing"
SKETCH = EXAMPLE / "arduino" / "esp32_breathing"
SHARED_SRC = SKETCH / "src"
GENERATED = SHARED_SRC / "generated"
MODEL = EXAMPLE / "sine_model_quantized.tflite"
METRICS = EXAMPLE / "model_metrics.json"
SHARED_SOURCES = [SHARED_SRC / "breathing.cpp", GENERATED / "sine_model.cpp"]


def load_simulate():
    spec = importlib.util.spec_from_file_location("esp32_breathing_simulate",
                                                  EXAMPLE / "host" / "simulate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


simulate = load_simulate()


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the compile step ---


def test_committed_generated_sources_equal_a_fresh_compile(tmp_path):
    """`make model` (the documented command) into a temporary folder reproduces, byte for byte,
    every committed copy of the generated model; and there is exactly one copy."""
    fresh = tmp_path / "generated"
    tinyc = f"{sys.executable} -m tinyc"
    if shutil.which("make"):
        subprocess.run(["make", "-C", str(EXAMPLE), "model", f"TINYC={tinyc}",
                        f"GENERATED={fresh}"], check=True, capture_output=True, text=True)
    else:  # the same command the Makefile runs
        subprocess.run([sys.executable, "-m", "tinyc", "compile", str(MODEL), "--name",
                        "sine_model", "-o", str(fresh)], check=True, capture_output=True)
    expected = folder_bytes(fresh)
    assert "sine_model.cpp" in expected and "sine_model.h" in expected

    copies = sorted(p.parent for p in EXAMPLE.rglob("sine_model.h") if fresh not in p.parents)
    assert copies == [GENERATED], f"expected one generated folder, found {copies}"
    for copy in copies:
        committed = folder_bytes(copy)
        assert committed.keys() == expected.keys(), f"{copy}: files differ; run `make model`"
        for name, data in expected.items():
            assert committed[name] == data, f"{copy / name} is stale; run `make model`"


def test_every_build_uses_the_same_sources():
    """Arduino compiles the sketch folder with the committed model; PlatformIO's src_dir is that
    folder, less the committed model, which its pre-build step compiles from the .tflite; the
    ESP-IDF main component lists the same application files and compiles the model with
    tinyc_add_model. No build keeps a copy of its own."""
    ino = (SKETCH / "esp32_breathing.ino").read_text()
    assert '#include "src/breathing.h"' in ino

    pio = configparser.ConfigParser(inline_comment_prefixes=(";",))
    pio.read(EXAMPLE / "platformio.ini")
    assert (EXAMPLE / pio["platformio"]["src_dir"]).resolve() == SKETCH.resolve()
    env = pio["env:esp32dev"]
    assert (env["board"], env["framework"], env["platform"]) == ("esp32dev", "arduino",
                                                                 "espressif32")
    assert env["build_src_filter"].split() == ["+<*>", "-<src/generated/>"]
    assert env["extra_scripts"] == "pre:tinyc_prebuild.py"
    assert (EXAMPLE / "tinyc_prebuild.py").is_file()
    model, name = env["custom_tinyc_models"].split()
    assert ((EXAMPLE / model).resolve(), name) == (MODEL.resolve(), "sine_model")

    cmake = (EXAMPLE / "esp_idf" / "main" / "CMakeLists.txt").read_text()
    shared = re.search(r'set\(shared_src "\$\{CMAKE_CURRENT_LIST_DIR\}/([^"]+)"\)', cmake)
    assert shared, "main/CMakeLists.txt must set shared_src"
    assert (EXAMPLE / "esp_idf" / "main" / shared[1]).resolve() == SHARED_SRC.resolve()
    assert '"${shared_src}/breathing.cpp"' in cmake
    assert "generated/sine_model.cpp" not in cmake, "ESP-IDF compiles the model at build time"
    added = re.search(r'tinyc_add_model\(\$\{COMPONENT_LIB\} "\$\{CMAKE_CURRENT_LIST_DIR\}/'
                      r'([^"]+)"\s+NAME sine_model\)', cmake)
    assert added, "main/CMakeLists.txt must call tinyc_add_model"
    assert (EXAMPLE / "esp_idf" / "main" / added[1]).resolve() == MODEL.resolve()
    assert "idf_component_register(" in cmake and '"main.cpp"' in cmake
    assert "include($ENV{IDF_PATH}/tools/cmake/project.cmake)" in (
        EXAMPLE / "esp_idf" / "CMakeLists.txt").read_text()
    assert "driver/ledc.h" in (EXAMPLE / "esp_idf" / "main" / "main.cpp").read_text()

    for name in ("breathing.cpp", "breathing.h", "sine_model.cpp"):
        found = [p.relative_to(EXAMPLE) for p in EXAMPLE.rglob(name)
                 if ".pio" not in p.parts and "build" not in p.parts]
        assert len(found) == 1, f"{name}: one copy expected, found {found}"


def test_metrics_describe_the_committed_model():
    metrics = json.loads(METRICS.read_text())
    assert metrics["model_sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest(), (
        "model_metrics.json was measured on another model; rerun train.py")
    # duty_bound() relies on the error being measured with the firmware's int8 arithmetic.
    assert metrics["int8_interpreter"] == "tflite-micro", (
        "retrain with tflite-micro installed: pip install -e '.[train,verify]'")


# --- host simulation ---


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    if not shutil.which("g++"):
        pytest.skip("g++ not found: the host simulation needs a host C++ compiler")
    exe = simulate.build(tmp_path_factory.mktemp("breathing-sim"))
    return simulate.run(exe, cycles=2)


def duty_bound(metrics: dict) -> float:
    """How far the simulated duty may be from 127.5 * (sin(x) + 1), from train.py's measurement.

    train.py ran sine_model_quantized.tflite with TFLite Micro (whose int8 arithmetic tinyc
    reproduces bit for bit) on the 200 test inputs (uniform over [0, 2*pi], quantized as the
    firmware quantizes x) and recorded e = max |y - sin(x)|, the model's worst error against
    the clean sine. The duty is 127.5 * (y + 1), so an output error e is a duty
    error of 127.5 * e. The sweep's 200 inputs are not the test inputs but lie between them:
    there the int8 output can be one output quantization step (output_scale) further off than
    at the nearest test input, so we allow 127.5 * (e + output_scale). Rounding the duty to an
    integer adds at most 0.5.
    """
    e = metrics["int8_test"]["max_abs_error_vs_sin"]
    return 127.5 * (e + metrics["output_scale"]) + 0.5


def test_simulated_breath_follows_the_sine(simulation, tmp_path):
    metrics = json.loads(METRICS.read_text())
    bound = duty_bound(metrics)
    n = simulation.inferences_per_cycle
    errors = [abs(s.duty - simulate.ideal_brightness(simulate.step_x(s.step, n)))
              for s in simulation.steps]
    png = simulate.plot(simulation, tmp_path / "breathing.png", bound)
    print(f"\nhost simulation: {len(errors)} steps, |duty - 127.5*(sin(x)+1)| max "
          f"{max(errors):.2f}, mean {np.mean(errors):.2f}, bound {bound:.2f}; plot: {png}")
    worst = int(np.argmax(errors))
    assert max(errors) <= bound, (
        f"step {worst}: duty {simulation.steps[worst].duty}, error {errors[worst]:.2f} > "
        f"{bound:.2f}")
    # A breath, not a flat line: the LED goes (nearly) dark and (nearly) fully on.
    duties = [s.duty for s in simulation.steps]
    assert min(duties) <= bound and max(duties) >= 255 - bound


def test_simulated_hardware_calls(simulation):
    """Every step writes one duty in 0..255, waits kStepDelayMs, and logs a serial-plotter
    line consistent with what it wrote."""
    n = simulation.inferences_per_cycle
    assert 150 <= n <= 250, "about 200 inferences per breath"
    assert 2 <= n * simulation.step_delay_ms / 1000 <= 8, "a breath of a few seconds"
    assert len(simulation.steps) == 2 * n
    for s in simulation.steps:
        assert s.pwm_writes == 1 and 0 <= s.duty <= 255
        assert s.delay_ms == simulation.step_delay_ms
        assert s.logged_brightness == s.duty
        assert abs(s.x - simulate.step_x(s.step, n)) <= 0.0006
        assert abs(127.5 * (s.y + 1) - s.duty) <= 0.5 + 127.5 * 0.0005 or s.duty in (0, 255)


def test_simulated_breath_is_periodic(simulation):
    first, second = simulation.cycle(0), simulation.cycle(1)
    assert [s.duty for s in second] == [s.duty for s in first]
    assert [s.line for s in second] == [s.line for s in first]


def test_simulated_duties_equal_tflm(simulation):
    """The application logic around the generated model, replayed in numpy float32 with TFLM
    as the model: every duty must be the same."""
    from tinyc.verify.compare import tflm_runner

    header = (GENERATED / "sine_model.h").read_text()

    def macro(name: str) -> float:
        return float(re.search(rf"#define SINE_MODEL_{name} (\S+?)f?\n", header)[1])

    f32 = np.float32
    in_scale, in_zero = f32(macro("INPUT0_SCALE")), f32(macro("INPUT0_ZERO_POINT"))
    out_scale, out_zero = f32(macro("OUTPUT0_SCALE")), int(macro("OUTPUT0_ZERO_POINT"))
    run = tflm_runner(MODEL, 1)
    n = simulation.inferences_per_cycle
    for s in simulation.cycle(0):
        x = f32(6.28318531) * f32(s.step) / f32(n)  # breathing::x_for_step
        r = x / in_scale
        q = np.sign(r) * np.floor(np.abs(r) + f32(0.5)) + in_zero  # roundf: half away from 0
        q = np.int8(np.clip(q, -128, 127))
        out = int(run([np.array([[q]], np.int8)])[0].reshape(-1)[0])
        y = out_scale * f32(out - out_zero)
        duty = f32(127.5) * (y + f32(1))
        expected = 0 if not duty > 0 else 255 if duty >= 255 else int(duty + f32(0.5))
        assert s.duty == expected, f"step {s.step}: duty {s.duty}, TFLM gives {expected}"


# --- the firmware hardware interfaces, against stand-in SDK headers ---
#
# No ESP32 toolchain is installed here, so the Arduino sketch and the ESP-IDF main.cpp are
# compiled on the host against minimal stand-ins that declare only what they use, with the
# signatures of arduino-esp32 2.x/3.x (cores/esp32/esp32-hal-ledc.h) and ESP-IDF 5.x
# (driver/ledc.h). This catches mistakes in the selection between the LEDC APIs and in C++
# use of the ESP-IDF structs; it does not replace a build with the real SDKs.

ARDUINO_STUBS = {
    "esp_arduino_version.h": "#define ESP_ARDUINO_VERSION_MAJOR ARDUINO_CORE_MAJOR_FOR_TEST\n",
    "Arduino.h": """\
#include <stddef.h>
#include <stdint.h>
#include "esp_arduino_version.h"
void delay(uint32_t ms);
struct HardwareSerial {
  void begin(unsigned long baud);
  size_t print(const char *text);
  size_t println(const char *text);
  size_t println(int value);
};
extern HardwareSerial Serial;
#if ESP_ARDUINO_VERSION_MAJOR >= 3
bool ledcAttach(uint8_t pin, uint32_t freq, uint8_t resolution);
bool ledcWrite(uint8_t pin, uint32_t duty);
#else
uint32_t ledcSetup(uint8_t channel, uint32_t freq, uint8_t resolution_bits);
void ledcAttachPin(uint8_t pin, uint8_t channel);
void ledcWrite(uint8_t channel, uint32_t duty);
#endif
""",
}

IDF_STUBS = {
    "esp_err.h": """\
#pragma once
typedef int esp_err_t;
#define ESP_OK 0
void esp_error_check_failed(esp_err_t rc);
#define ESP_ERROR_CHECK(x) do { esp_err_t rc_ = (x); if (rc_ != ESP_OK) \\
  esp_error_check_failed(rc_); } while (0)
""",
    "freertos/FreeRTOS.h": """\
#pragma once
#include <stdint.h>
typedef uint32_t TickType_t;
#define configTICK_RATE_HZ 1000
#define pdMS_TO_TICKS(ms) ((TickType_t)(((TickType_t)(ms) * configTICK_RATE_HZ) / 1000U))
""",
    "freertos/task.h": """\
#pragma once
#include "FreeRTOS.h"
extern "C" void vTaskDelay(TickType_t ticks);
""",
    "driver/ledc.h": """\
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "esp_err.h"
typedef enum { LEDC_HIGH_SPEED_MODE, LEDC_LOW_SPEED_MODE, LEDC_SPEED_MODE_MAX } ledc_mode_t;
typedef enum { LEDC_INTR_DISABLE, LEDC_INTR_FADE_END } ledc_intr_type_t;
typedef enum { LEDC_CHANNEL_0, LEDC_CHANNEL_1, LEDC_CHANNEL_MAX } ledc_channel_t;
typedef enum { LEDC_TIMER_0, LEDC_TIMER_1, LEDC_TIMER_MAX } ledc_timer_t;
typedef enum { LEDC_TIMER_1_BIT = 1, LEDC_TIMER_8_BIT = 8, LEDC_TIMER_BIT_MAX } ledc_timer_bit_t;
typedef enum { LEDC_AUTO_CLK = 0 } ledc_clk_cfg_t;
typedef enum { LEDC_SLEEP_MODE_NO_ALIVE_NO_PD = 0 } ledc_sleep_mode_t;
typedef struct {
  int gpio_num;
  ledc_mode_t speed_mode;
  ledc_channel_t channel;
  ledc_intr_type_t intr_type __attribute__((deprecated));
  ledc_timer_t timer_sel;
  uint32_t duty;
  int hpoint;
  ledc_sleep_mode_t sleep_mode;
  struct ledc_channel_flags { unsigned int output_invert: 1; } flags;
} ledc_channel_config_t;
typedef struct {
  ledc_mode_t speed_mode;
  ledc_timer_bit_t duty_resolution;
  ledc_timer_t timer_num;
  uint32_t freq_hz;
  ledc_clk_cfg_t clk_cfg;
  bool deconfigure;
} ledc_timer_config_t;
extern "C" {
esp_err_t ledc_channel_config(const ledc_channel_config_t *ledc_conf);
esp_err_t ledc_timer_config(const ledc_timer_config_t *timer_conf);
esp_err_t ledc_set_duty(ledc_mode_t speed_mode, ledc_channel_t channel, uint32_t duty);
esp_err_t ledc_update_duty(ledc_mode_t speed_mode, ledc_channel_t channel);
}
""",
}

HOST_CXX = ["g++", "-Wall", "-Wextra", "-Werror", "-fno-exceptions", "-fno-rtti"]


def write_stubs(folder: Path, stubs: dict[str, str]) -> Path:
    for name, text in stubs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("core_major,std", [(2, "gnu++11"), (3, "gnu++2b")])
def test_arduino_sketch_selects_the_ledc_api(core_major, std, tmp_path):
    """The .ino compiles as C++ (what the Arduino builder and PlatformIO make of it) against
    the 2.x and the 3.x LEDC declarations, in the C++ dialects those cores build with."""
    if not shutil.which("g++"):
        pytest.skip("g++ not found")
    stubs = write_stubs(tmp_path / "stubs", ARDUINO_STUBS)
    run_checked([*HOST_CXX, f"-std={std}", f"-DARDUINO_CORE_MAJOR_FOR_TEST={core_major}",
                 "-I", str(stubs), "-include", "Arduino.h", "-x", "c++",
                 str(SKETCH / "esp32_breathing.ino"), "-c", "-o", str(tmp_path / "ino.o")])


@pytest.mark.parametrize("std", ["gnu++11", "gnu++20"])
def test_esp_idf_main_compiles(std, tmp_path):
    """From C++11 up to gnu++20 (ESP-IDF 5.x's dialect): the struct setup must not depend on
    designated initializers or on the fields later ESP-IDF versions added."""
    if not shutil.which("g++"):
        pytest.skip("g++ not found")
    stubs = write_stubs(tmp_path / "stubs", IDF_STUBS)
    run_checked([*HOST_CXX, f"-std={std}", "-I", str(stubs), "-I", str(SHARED_SRC),
                 str(EXAMPLE / "esp_idf" / "main" / "main.cpp"), "-c",
                 "-o", str(tmp_path / "main.o")])


# --- the model compiled at build time: ESP-IDF's CMake passes and PlatformIO, stand-ins ---

IDF_PROJECT = """\
cmake_minimum_required(VERSION 3.16)
project(esp32_breathing_standin C CXX)
# As ESP-IDF's idf_component_register in the real pass: sources and include folders relative to
# the component, a static library per component, COMPONENT_LIB set for what follows.
function(idf_component_register)
  cmake_parse_arguments(_ "" "" "SRCS;INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  get_filename_component(component "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  add_library(__idf_${component} STATIC ${__SRCS})
  target_include_directories(__idf_${component} PUBLIC ${__INCLUDE_DIRS})
  set(COMPONENT_LIB __idf_${component} PARENT_SCOPE)
endfunction()
include_directories("@STUBS@")
set(ESP_PLATFORM 1)
add_subdirectory("@MAIN@" main)
"""

EARLY_EXPANSION = """\
macro(idf_component_register)
  set(__component_registered 1)
  return()
endmacro()
set(CMAKE_BUILD_EARLY_EXPANSION 1)
function(get_requirements)
  include(${COMPONENT_DIR}/CMakeLists.txt)
  file(WRITE ${OUT} "registered=${__component_registered}")
endfunction()
get_requirements()
"""


def included_headers(command: list[str], cwd: Path) -> list[Path]:
    """The headers a compile command reads (gcc -MM), resolved."""
    out = run_checked([*command, "-MM", "-MF", "/dev/stdout"], cwd=cwd)
    words = out.replace("\\\n", " ").split()[1:]
    return [(cwd / w).resolve() for w in words if w.endswith(".h")]


def test_esp_idf_main_component_compiles_the_model_at_build_time(tmp_path):
    """main/CMakeLists.txt in ESP-IDF's two passes: the early one (script mode) stops at
    idf_component_register; the real one runs tinyc_add_model, which compiles the .tflite, and
    breathing.cpp includes that build-time header, not the Arduino IDE's committed copy."""
    cmake = tool("", "cmake")
    tool("", "g++")
    main_dir = EXAMPLE / "esp_idf" / "main"
    (tmp_path / "early.cmake").write_text(EARLY_EXPANSION)
    run_checked([cmake, "-DESP_PLATFORM=1", f"-DCOMPONENT_DIR={main_dir}",
                 f"-DOUT={tmp_path / 'early.txt'}", "-P", str(tmp_path / "early.cmake")])
    assert (tmp_path / "early.txt").read_text() == "registered=1"

    stubs = write_stubs(tmp_path / "stubs", IDF_STUBS)
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        IDF_PROJECT.replace("@STUBS@", stubs.as_posix()).replace("@MAIN@", main_dir.as_posix()))
    build = tmp_path / "build"
    tinyc = f"{sys.executable};-m;tinyc"
    run_checked([cmake, "-S", str(project), "-B", str(build),
                 "-G", "Ninja" if shutil.which("ninja") else "Unix Makefiles",
                 f"-DTINYC_EXECUTABLE={tinyc}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
                 "-DCMAKE_CXX_FLAGS=-std=gnu++20 -Wall -Wextra -Werror -fno-exceptions "
                 "-fno-rtti"])
    log = run_checked([cmake, "--build", str(build)])
    assert "tinyc: compiling" in log
    generated = build / "main" / "tinyc-generated" / "sine_model"
    committed = (GENERATED / "sine_model.cpp").read_bytes()
    assert (generated / "sine_model.cpp").read_bytes() == committed

    commands = json.loads((build / "compile_commands.json").read_text())
    (entry,) = [c for c in commands if c["file"].endswith("breathing.cpp")]
    command = entry["command"].split()
    command = [w for i, w in enumerate(command) if w != "-c" and command[i - 1] != "-o"
               and w != "-o" and not w.endswith(".o")]
    headers = included_headers(command, Path(entry["directory"]))
    assert (generated / "sine_model.h").resolve() in headers
    assert (GENERATED / "sine_model.h").resolve() not in headers


def test_platformio_prebuild_compiles_the_model(tmp_path):
    """The example's pre-build shim runs the script tinyc ships, with platformio.ini's options:
    the model lands in the build folder, on the include path, and is the one built; the
    committed copy is filtered out (build_src_filter), so there is exactly one sine_model.cpp."""
    from test_cmake import FakePlatformIOEnv, run_platformio_script

    pio = configparser.ConfigParser(inline_comment_prefixes=(";",))
    pio.read(EXAMPLE / "platformio.ini")
    options = {k: v for k, v in pio["env:esp32dev"].items() if k.startswith("custom_")}
    options["custom_tinyc"] = f"{sys.executable} -m tinyc"
    env = FakePlatformIOEnv(EXAMPLE, options, build_dir=tmp_path / "build")
    run_platformio_script(EXAMPLE / "tinyc_prebuild.py", env)
    (out,) = env.appended["CPPPATH"]
    out = Path(out)
    assert (out / "sine_model.cpp").read_bytes() == (GENERATED / "sine_model.cpp").read_bytes()

    excluded = [f[2:-1] for f in pio["env:esp32dev"]["build_src_filter"].split()
                if f.startswith("-<")]
    built = [p for p in SKETCH.rglob("*") if p.suffix in (".cpp", ".ino")
             and not any(p.relative_to(SKETCH).as_posix().startswith(e) for e in excluded)]
    built += [p for _, folder in env.sources for p in Path(folder).rglob("*.cpp")]
    assert sorted(p.name for p in built) == ["breathing.cpp", "esp32_breathing.ino",
                                             "sine_model.cpp"]
    if shutil.which("g++"):
        headers = included_headers(["g++", "-std=gnu++11", "-I", str(SHARED_SRC), "-I",
                                    str(out), str(SHARED_SRC / "breathing.cpp")], tmp_path)
        assert (out / "sine_model.h").resolve() in headers
        assert (GENERATED / "sine_model.h").resolve() not in headers


def test_without_a_prebuild_step_the_committed_model_is_used(tmp_path):
    """The Arduino IDE (and the host simulation) put no generated folder on the include path:
    breathing.cpp then includes the committed copy."""
    if not shutil.which("g++"):
        pytest.skip("g++ not found")
    headers = included_headers(["g++", "-std=gnu++11", "-I", str(SHARED_SRC),
                                str(SHARED_SRC / "breathing.cpp")], tmp_path)
    assert (GENERATED / "sine_model.h").resolve() in headers


# --- cross-compilation ---

CXX_FLAGS = ["-std=c++11", "-Os", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
C_FLAGS = ["-std=c99", "-Os", "-Wall", "-Wextra", "-Werror"]
NEWLIB_HEADERS = Path("/usr/include/newlib")  # Debian's libnewlib-dev

TARGETS = {
    # The reference target: Cortex-M4, default (soft-float) ABI.
    "arm-cortex-m4": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb"]),
    # The same core with its single-precision FPU, as Cortex-M4F boards are built.
    "arm-cortex-m4f": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16",
                                          "-mfloat-abi=hard"]),
    # The ESP8266's Xtensa core, the nearest Xtensa compiler Debian packages. -mlongcalls as
    # ESP8266 builds use. It ships no C library, so Debian's generic newlib headers supply
    # <math.h> and <stdint.h> (the code needs no libstdc++ headers).
    "xtensa-lx106": ("xtensa-lx106-elf-", ["-mlongcalls", "-isystem", str(NEWLIB_HEADERS)]),
}

C_HEADER_CHECK = """\
#include "sine_model.h"
int sine_model_c_check(float x) {
  sine_model_input0_data()[0] = sine_model_input0_quantize(x);
  if (sine_model_invoke() != 0) return -1;
  return (int)(100.0f * sine_model_output0_dequantize(sine_model_output0_data()[0]));
}
"""

# A bare-metal main for a linked image: the duty goes to a (pretend) register.
BARE_METAL_MAIN = """\
#include "breathing.h"
static volatile uint32_t duty_register;
static void pwm_write(uint8_t duty) { duty_register = duty; }
static void delay_ms(uint32_t ms) { for (volatile uint32_t i = 0; i < ms * 1000u; ++i) {} }
static void log_line(const char *line) { (void)line; }
int main() {
  const breathing::Hardware hardware = {pwm_write, delay_ms, log_line};
  breathing::State state = {0};
  for (;;) breathing::step(&state, hardware);
}
"""


def tool(prefix: str, name: str) -> str:
    path = shutil.which(prefix + name)
    if path is None:
        pytest.skip(f"{prefix}{name} not installed (CI installs it in .ci/run)")
    return path


def run_checked(command: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return result.stdout


def size_table(size: str, files: list[Path]) -> tuple[str, int, int]:
    """`size` (Berkeley format) output, and flash (text + data) and RAM (data + bss) totals."""
    out = run_checked([size, *(f.name for f in files)], cwd=files[0].parent)
    flash = ram = 0
    for line in out.splitlines()[1:]:
        text, data, bss = (int(v) for v in line.split()[:3])
        flash += text + data
        ram += data + bss
    return out.rstrip(), flash, ram


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_cross_build(target, tmp_path):
    prefix, flags = TARGETS[target]
    cxx, cc, size = tool(prefix, "g++"), tool(prefix, "gcc"), tool(prefix, "size")
    if target.startswith("xtensa") and not (NEWLIB_HEADERS / "math.h").exists():
        pytest.skip(f"{prefix}gcc has no C library headers: install libnewlib-dev for "
                    f"{NEWLIB_HEADERS}")
    include = ["-I", str(SHARED_SRC)]
    objects = []
    for source in SHARED_SOURCES:
        obj = tmp_path / (source.stem + ".o")
        run_checked([cxx, *flags, *CXX_FLAGS, "-fstack-usage", *include, "-c", str(source),
                     "-o", obj.name], cwd=tmp_path)
        objects.append(obj)
    # The generated header is includable from C as well.
    c_check = tmp_path / "c_check.c"
    c_check.write_text(C_HEADER_CHECK)
    run_checked([cc, *flags, *C_FLAGS, "-I", str(GENERATED), "-c", str(c_check), "-o",
                 str(tmp_path / "c_check.o")])

    table, flash, ram = size_table(size, objects)
    stack = {}  # function name -> frame bytes, from gcc's -fstack-usage files
    for su in tmp_path.glob("*.su"):
        for line in su.read_text().splitlines():
            where, frame = line.split("\t")[:2]
            stack[where.split(":")[-1].split("(")[0].split()[-1]] = int(frame)
    command = " ".join([Path(cxx).name, *flags, *CXX_FLAGS, "-c"])
    print(f"\n{target}: {command}\n{table}\nmodel + application logic: flash {flash} B, "
          f"RAM {ram} B static; deepest stack frames: "
          + ", ".join(f"{name} {frame} B" for name, frame in
                      sorted(stack.items(), key=lambda kv: -kv[1])[:3]))

    if target.startswith("arm"):  # newlib-nano can link a whole bare-metal image
        main = tmp_path / "main.cpp"
        main.write_text(BARE_METAL_MAIN)
        elf = tmp_path / "breathing.elf"
        run_checked([cxx, *flags, *CXX_FLAGS, *include, str(main), *map(str, objects),
                     "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
                     "-o", str(elf)])
        table, flash, ram = size_table(size, [elf])
        print(f"linked bare-metal image (newlib-nano, nosys, --gc-sections):\n{table}\n"
              f"image: flash {flash} B, RAM {ram} B (includes C runtime and libm roundf)")
    assert flash > 0
    assert math.isfinite(ram)
