/* tinyc runtime: the byte copies of control flow and resource variables.
 * IF copies its branch's results into its outputs; WHILE copies its inputs into the loop
 * variables and each iteration's results back (TFLM's if.cc and while.cc copy the same bytes
 * between subgraphs); READ_VARIABLE and ASSIGN_VARIABLE copy between a variable and a tensor
 * (read_variable.cc, assign_variable.cc). memmove: a loop variable the body passes through
 * unchanged is copied onto itself. */
#ifndef TINYC_CONTROL_FLOW_H
#define TINYC_CONTROL_FLOW_H

#include <string.h>

#include "tinyc_common.h"

TINYC_NAMESPACE_BEGIN

typedef struct {
  int32_t bytes;
} tinyc_copy_params;

TINYC_INLINE void tinyc_copy(const tinyc_copy_params *p, const void *input, void *output) {
  if (input != output) memmove(output, input, (size_t)p->bytes);
}

TINYC_NAMESPACE_END

#endif /* TINYC_CONTROL_FLOW_H */
