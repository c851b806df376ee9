// The breathing LED's application logic, written once and shared by every build: the Arduino
// sketch, the ESP-IDF project, the PlatformIO project and the host simulation.
//
// Each step takes the next x of a sweep over [0, 2*pi), asks the sine model (compiled by tinyc
// into generated/) for y ~= sin(x), and turns y into an LED duty: 127.5 * (y + 1), so the LED
// is dark at y = -1 and fully on at y = 1. The only thing the builds do differently is the
// Hardware struct below.
//
// It lives in the Arduino sketch's src/ folder because the Arduino build compiles only files
// inside the sketch folder; the other builds point at this same folder (see the README).
#ifndef ESP32_BREATHING_BREATHING_H_
#define ESP32_BREATHING_BREATHING_H_

#include <stdint.h>

namespace breathing {

// One breath is x sweeping [0, 2*pi) in this many inferences...
const int kInferencesPerCycle = 200;
// ...with this pause after each one: 200 * 20 ms = a 4 second breath.
const uint32_t kStepDelayMs = 20;
// The x range the model was trained on, [0, 2*pi].
const float kXRange = 6.28318531f;
// Room for one log line, e.g. "x:6.252,y:-1.000,brightness:0" (37 characters at most), and NUL.
const int kLogLineBytes = 48;

// The hardware interface: what each build implements (LEDC through Arduino or ESP-IDF on the
// ESP32, a recorder in the host simulation).
struct Hardware {
  void (*pwm_write)(uint8_t duty);     // LED duty, 0 (off) .. 255 (on), 8-bit PWM
  void (*delay_ms)(uint32_t ms);       // wait between steps
  void (*log_line)(const char *line);  // one "name:value,..." serial plotter line, no newline
};

// Where the sweep is; start with {0}.
struct State {
  int step;
};

// x of a step: kXRange * step / kInferencesPerCycle, step in [0, kInferencesPerCycle).
float x_for_step(int step);

// The duty for a model output y: 127.5 * (y + 1) rounded to nearest, clamped to 0..255.
uint8_t brightness_for(float y);

// One step: quantize x, invoke the model, dequantize y, write the duty, log
// "x:<x>,y:<y>,brightness:<duty>", wait kStepDelayMs, and move to the next x (wrapping after
// kInferencesPerCycle steps). Returns 0, or the model's nonzero status (the duty is then left
// unchanged, nothing is logged and the step is not advanced).
int step(State *state, const Hardware &hw);

// Writes value with three decimals ("-0.012") into out, which must hold 16 bytes; returns
// the characters written. Integer arithmetic only, so no printf float support is needed.
int format_fixed3(float value, char *out);

}  // namespace breathing

#endif  // ESP32_BREATHING_BREATHING_H_
