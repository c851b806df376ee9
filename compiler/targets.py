"""Named microcontroller targets for `tinyc report --target`: the RAM and flash a model may use.

Each figure is the ceiling for everything the firmware places there, not only the model: the
fits check compares the model's own needs with it, so a model that "fits" still has to share the
part with the application, its RTOS and its radio stack. Pass `--ram`/`--flash` for a budget of
your own. K = 1024 bytes throughout.

Where the figures come from (checked against the vendors' documents named beside each entry):
  - ESP32: ESP-IDF "Memory Types" (api-guides/memory-types.rst, DRAM note): "due to a technical
    limitation, the maximum statically allocated DRAM usage is 160 KB" of its 320 KB of DRAM;
    tinyc's arena is static (.bss), so 160 K is its ceiling. Flash: the app partition of ESP-IDF's
    default partition table (components/partition_table/partitions_singleapp.csv: factory, 1M).
    Arduino-ESP32's default scheme gives 1.25 M (1,310,720 B) per app slot: use --flash for it.
  - ESP32-S3: 512 K SRAM (ESP32-S3 datasheet); `idf.py size` reports 345,856 B of D/IRAM for the
    app (ESP-IDF 5.x, default cache sizes), from which the app's IRAM code also comes. Flash: the
    same 1M default app partition.
  - ESP32-C3: 400 K SRAM of which 16 K is cache (ESP32-C3 datasheet); ROM and the app's IRAM code
    take part of the 384 K left. 320 K is an estimate, not a documented figure. Flash: 1M app.
  - ESP8266: 80 K of user data RAM (datasheet memory map), "around 50 kB" programmable in heap and
    data with Wi-Fi connected in station mode (ESP8266EX datasheet, "RAM size"). Its flash is not
    byte-addressable for data, so the SDK and the Arduino core link `const` data (.rodata) into
    DRAM: weights and constants count against RAM there. Flash: 1 M, the largest app image the
    flash cache maps (irom0 segment).
  - nRF52840: 256 K RAM, 1 M flash (nRF52840 Product Specification); a SoftDevice (BLE stack)
    reserves part of both.
  - STM32F401xE: 96 K SRAM, 512 K flash; STM32F411xE: 128 K SRAM, 512 K flash; STM32F446xE:
    128 K SRAM, 512 K flash; STM32F407xG: 192 K SRAM of which 64 K is CCM (a separate block), so a
    single array such as the arena gets at most the 128 K of contiguous SRAM1+SRAM2, 1 M flash
    (ST datasheets, "Memories").
  - RP2040: 264 K SRAM (RP2040 datasheet); the Pico SDK's linker script gives 256 K of striped
    main RAM to .data/.bss/heap (the two 4 K scratch banks hold the core stacks). Flash is
    external: 2 M on the Raspberry Pi Pico.
  - SAMD21G18 (Arduino Zero, MKR boards, Nano 33 IoT; Cortex-M0+): 32 K SRAM, 256 K flash of
    which the Arduino bootloader keeps 8 K (SAM D21 datasheet; Arduino's board definitions).
"""

from __future__ import annotations

from dataclasses import dataclass

K = 1024
M = 1024 * K


@dataclass(frozen=True)
class Target:
    name: str  # as given to --target (case-insensitive)
    part: str  # what it is, for people
    ram_bytes: int  # usable RAM for static data (see the module docstring for the basis)
    flash_bytes: int  # usable flash for the application image
    const_in_ram: bool = False  # True where `const` arrays are linked into RAM (ESP8266)
    note: str = ""


TARGETS: tuple[Target, ...] = (
    Target("esp32", "ESP32 (ESP32-WROOM-32, DevKitC; ESP-IDF / Arduino-ESP32)", 160 * K, 1 * M,
           note="static DRAM ceiling 160 K; 1 M default app partition"),
    Target("esp32-s3", "ESP32-S3 (Xtensa LX7)", 345_856, 1 * M,
           note="D/IRAM idf.py size reports; 1 M default app partition"),
    Target("esp32-c3", "ESP32-C3 (RISC-V)", 320 * K, 1 * M,
           note="estimate: 384 K after cache, less ROM and IRAM; 1 M app partition"),
    Target("esp8266", "ESP8266 (Xtensa LX106)", 50 * K, 1 * M, const_in_ram=True,
           note="~50 K heap+data with Wi-Fi; const data lives in RAM"),
    Target("nrf52840", "nRF52840 (Cortex-M4F; Arduino Nano 33 BLE)", 256 * K, 1 * M,
           note="less what a SoftDevice reserves"),
    Target("stm32f401", "STM32F401xE (Cortex-M4F)", 96 * K, 512 * K),
    Target("stm32f411", "STM32F411xE (Cortex-M4F; Black Pill)", 128 * K, 512 * K),
    Target("stm32f407", "STM32F407xG (Cortex-M4F; Discovery)", 128 * K, 1 * M,
           note="contiguous SRAM1+2; the 64 K CCM is a separate block"),
    Target("stm32f446", "STM32F446xE (Cortex-M4F; Nucleo-F446RE)", 128 * K, 512 * K),
    Target("rp2040", "RP2040 (dual Cortex-M0+; Raspberry Pi Pico)", 256 * K, 2 * M,
           note="striped main RAM; 2 M flash on the Pico"),
    Target("samd21", "SAMD21G18 (Cortex-M0+; Arduino Zero, MKR, Nano 33 IoT)", 32 * K, 248 * K,
           note="256 K flash less the 8 K bootloader"),
)

ALIASES = {"esp32s3": "esp32-s3", "esp32c3": "esp32-c3", "nrf52": "nrf52840",
           "cortex-m4": "stm32f411", "stm32f4": "stm32f411", "pico": "rp2040",
           "arduino-zero": "samd21"}


def find_target(name: str) -> Target | None:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return next((t for t in TARGETS if t.name == key), None)


def target_names() -> list[str]:
    return [t.name for t in TARGETS]
