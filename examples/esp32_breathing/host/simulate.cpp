// Host simulation: the shared application logic (breathing.cpp) and the tinyc-generated model,
// driven through a fake hardware interface that records what the firmware would do.
//
// Usage: simulate [cycles]   (default 2)
// Prints one header line, then one line per step:
//   <step> <duty> <pwm writes> <delay ms> <log line>
// host/simulate.py builds this, parses the lines and draws the breath.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breathing.h"

namespace {

int g_duty = -1;
int g_pwm_writes = 0;
uint32_t g_delay_ms = 0;
char g_line[breathing::kLogLineBytes + 1];
int g_log_lines = 0;

void fake_pwm_write(uint8_t duty) {
  g_duty = duty;
  ++g_pwm_writes;
}

void fake_delay_ms(uint32_t ms) { g_delay_ms += ms; }

void fake_log_line(const char *line) {
  const size_t length = strlen(line);
  if (length >= sizeof g_line) {
    fprintf(stderr, "log line of %u characters overflows kLogLineBytes\n",
            static_cast<unsigned>(length));
    exit(2);
  }
  memcpy(g_line, line, length + 1);
  ++g_log_lines;
}

}  // namespace

int main(int argc, char **argv) {
  const int cycles = argc > 1 ? atoi(argv[1]) : 2;
  if (cycles < 1) {
    fprintf(stderr, "usage: %s [cycles >= 1]\n", argv[0]);
    return 2;
  }
  const breathing::Hardware hardware = {fake_pwm_write, fake_delay_ms, fake_log_line};
  breathing::State state = {0};
  printf("inferences_per_cycle=%d step_delay_ms=%u cycles=%d\n", breathing::kInferencesPerCycle,
         static_cast<unsigned>(breathing::kStepDelayMs), cycles);
  for (int i = 0; i < cycles * breathing::kInferencesPerCycle; ++i) {
    g_pwm_writes = 0;
    g_delay_ms = 0;
    g_log_lines = 0;
    g_line[0] = '\0';
    const int status = breathing::step(&state, hardware);
    if (status != 0) {
      fprintf(stderr, "step %d: breathing::step returned %d\n", i, status);
      return 1;
    }
    if (g_log_lines != 1) {
      fprintf(stderr, "step %d: %d log lines, expected 1\n", i, g_log_lines);
      return 1;
    }
    printf("%d %d %d %u %s\n", i, g_duty, g_pwm_writes, static_cast<unsigned>(g_delay_ms),
           g_line);
  }
  return 0;
}
