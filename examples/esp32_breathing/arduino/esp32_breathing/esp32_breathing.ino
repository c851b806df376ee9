// ESP32 breathing LED: a sine model compiled by tinyc drives the LED on GPIO 2 through LEDC
// PWM. This file is the Arduino build's hardware interface; the application logic is
// src/breathing.cpp and the model src/generated/ (see ../../README.md).
//
// Works with arduino-esp32 3.x (ledcAttach/ledcWrite by pin) and 2.x (ledcSetup/ledcAttachPin/
// ledcWrite by channel), chosen at compile time. Open Tools > Serial Plotter at 115200 baud to
// watch x, y and the brightness.

#include "src/breathing.h"

#if __has_include(<esp_arduino_version.h>)
#include <esp_arduino_version.h>  // ESP_ARDUINO_VERSION_MAJOR, since arduino-esp32 2.0
#endif

#if defined(ESP_ARDUINO_VERSION_MAJOR) && ESP_ARDUINO_VERSION_MAJOR >= 3
#define BREATHING_LEDC_BY_PIN 1  // 3.x: the core picks a free channel for the pin
#else
#define BREATHING_LEDC_BY_PIN 0  // 2.x and older: we own channel 0
#endif

const uint8_t kLedPin = 2;             // the on-board LED of most ESP32 DevKit boards
const uint32_t kPwmFrequencyHz = 5000;  // fast enough not to flicker
const uint8_t kPwmResolutionBits = 8;   // duties 0..255, as breathing::brightness_for() makes
#if !BREATHING_LEDC_BY_PIN
const uint8_t kPwmChannel = 0;
#endif

static breathing::State state = {0};

static void pwm_write(uint8_t duty) {
#if BREATHING_LEDC_BY_PIN
  ledcWrite(kLedPin, duty);
#else
  ledcWrite(kPwmChannel, duty);
#endif
}

static void delay_ms(uint32_t ms) { delay(ms); }

static void log_line(const char *line) { Serial.println(line); }

static const breathing::Hardware hardware = {pwm_write, delay_ms, log_line};

void setup() {
  Serial.begin(115200);
#if BREATHING_LEDC_BY_PIN
  if (!ledcAttach(kLedPin, kPwmFrequencyHz, kPwmResolutionBits)) {
    Serial.println("ledcAttach failed");
  }
#else
  ledcSetup(kPwmChannel, kPwmFrequencyHz, kPwmResolutionBits);
  ledcAttachPin(kLedPin, kPwmChannel);
#endif
}

void loop() {
  const int status = breathing::step(&state, hardware);
  if (status != 0) {
    Serial.print("sine_model_invoke failed: ");
    Serial.println(status);
    delay(1000);
  }
}
