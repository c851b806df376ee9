#include "breathing.h"

// The model. The ESP-IDF and PlatformIO builds compile it from sine_model_quantized.tflite at
// build time (tinyc_add_model in esp_idf/main/CMakeLists.txt, tinyc's pre-build script in
// platformio.ini) and put that folder on the include path; the Arduino IDE has no pre-build
// step and builds the copy committed in generated/ (`make model` refreshes it).
#if defined(__has_include)
#if __has_include(<sine_model.h>)
#define BREATHING_MODEL_BUILT_BY_TINYC 1
#endif
#endif
#if defined(BREATHING_MODEL_BUILT_BY_TINYC)
#include <sine_model.h>
#else
#include "generated/sine_model.h"
#endif

namespace breathing {

float x_for_step(int step) {
  return kXRange * static_cast<float>(step) / static_cast<float>(kInferencesPerCycle);
}

uint8_t brightness_for(float y) {
  const float duty = 127.5f * (y + 1.0f);
  if (!(duty > 0.0f)) return 0;  // also catches NaN
  if (duty >= 255.0f) return 255;
  return static_cast<uint8_t>(duty + 0.5f);
}

int format_fixed3(float value, char *out) {
  // Thousandths, rounded half away from zero, limited so they fit in 10 digits.
  const float limit = 999999.999f;
  if (!(value == value)) value = 0.0f;  // NaN: print 0.000 rather than garbage
  if (value > limit) value = limit;
  if (value < -limit) value = -limit;
  const bool negative = value < 0.0f;
  uint32_t thousandths = static_cast<uint32_t>((negative ? -value : value) * 1000.0f + 0.5f);
  int length = 0;
  if (negative && thousandths != 0) out[length++] = '-';  // no "-0.000"
  char digits[10];
  int count = 0;
  do {  // least significant digit first, at least four: "0.000"
    digits[count++] = static_cast<char>('0' + thousandths % 10);
    thousandths /= 10;
  } while (thousandths != 0 || count < 4);
  while (count > 0) {
    out[length++] = digits[--count];
    if (count == 3) out[length++] = '.';
  }
  out[length] = '\0';
  return length;
}

namespace {

// Appends text at line + *length. step()'s lines have at most 37 characters (x <= 6.252, y
// clamped to 12 characters by format_fixed3), which kLogLineBytes holds.
void append(char *line, int *length, const char *text) {
  while (*text != '\0') line[(*length)++] = *text++;
  line[*length] = '\0';
}

void append_fixed3(char *line, int *length, float value) {
  char number[16];
  format_fixed3(value, number);
  append(line, length, number);
}

void append_uint8(char *line, int *length, uint8_t value) {
  char number[4];
  int count = 0;
  if (value >= 100) number[count++] = static_cast<char>('0' + value / 100);
  if (value >= 10) number[count++] = static_cast<char>('0' + value / 10 % 10);
  number[count++] = static_cast<char>('0' + value % 10);
  number[count] = '\0';
  append(line, length, number);
}

}  // namespace

int step(State *state, const Hardware &hw) {
  const float x = x_for_step(state->step);

  // The model takes and returns int8: quantize x with the input's scale and zero point,
  // dequantize y with the output's (the helpers tinyc generated into sine_model.h).
  sine_model_input0_data()[0] = sine_model_input0_quantize(x);
  const int status = sine_model_invoke();
  if (status != 0) return status;
  const float y = sine_model_output0_dequantize(sine_model_output0_data()[0]);

  const uint8_t duty = brightness_for(y);
  hw.pwm_write(duty);

  char line[kLogLineBytes];
  int length = 0;
  append(line, &length, "x:");
  append_fixed3(line, &length, x);
  append(line, &length, ",y:");
  append_fixed3(line, &length, y);
  append(line, &length, ",brightness:");
  append_uint8(line, &length, duty);
  hw.log_line(line);

  hw.delay_ms(kStepDelayMs);
  state->step = (state->step + 1) % kInferencesPerCycle;
  return 0;
}

}  // namespace breathing
