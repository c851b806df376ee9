// ESP32 breathing LED, ESP-IDF build: this file is the hardware interface (LEDC PWM on GPIO 2,
// FreeRTOS delay, console log); the application logic is breathing.cpp and the model
// generated/sine_model.cpp, both in ../../arduino/esp32_breathing/src (see ../../README.md).

#include <stdio.h>

#include "breathing.h"
#include "driver/ledc.h"
#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

namespace {

const int kLedGpio = 2;  // the on-board LED of most ESP32 DevKit boards
const ledc_mode_t kSpeedMode = LEDC_LOW_SPEED_MODE;  // the mode every ESP32 variant has
const ledc_channel_t kChannel = LEDC_CHANNEL_0;
const ledc_timer_t kTimer = LEDC_TIMER_0;

void pwm_write(uint8_t duty) {
  ESP_ERROR_CHECK(ledc_set_duty(kSpeedMode, kChannel, duty));
  ESP_ERROR_CHECK(ledc_update_duty(kSpeedMode, kChannel));
}

void delay_ms(uint32_t ms) { vTaskDelay(pdMS_TO_TICKS(ms)); }

void log_line(const char *line) { printf("%s\n", line); }

void configure_pwm() {
  // Fields are assigned one by one: C++ before C++20 has no designated initializers, and the
  // structs gained fields across ESP-IDF versions (the {} zeroes the ones not named here).
  ledc_timer_config_t timer = {};
  timer.speed_mode = kSpeedMode;
  timer.duty_resolution = LEDC_TIMER_8_BIT;  // duties 0..255, as breathing::brightness_for()
  timer.timer_num = kTimer;
  timer.freq_hz = 5000;  // fast enough not to flicker
  timer.clk_cfg = LEDC_AUTO_CLK;
  ESP_ERROR_CHECK(ledc_timer_config(&timer));

  ledc_channel_config_t channel = {};
  channel.gpio_num = kLedGpio;
  channel.speed_mode = kSpeedMode;
  channel.channel = kChannel;
  channel.timer_sel = kTimer;
  channel.duty = 0;
  channel.hpoint = 0;
  ESP_ERROR_CHECK(ledc_channel_config(&channel));
}

}  // namespace

extern "C" void app_main(void) {
  configure_pwm();
  const breathing::Hardware hardware = {pwm_write, delay_ms, log_line};
  breathing::State state = {0};
  for (;;) {
    const int status = breathing::step(&state, hardware);
    if (status != 0) {
      printf("sine_model_invoke failed: %d\n", status);
      vTaskDelay(pdMS_TO_TICKS(1000));
    }
  }
}
