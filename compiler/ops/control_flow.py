"""IF, WHILE, and resource variables (READ_VARIABLE, ASSIGN_VARIABLE), lowered to structured
steps over static buffers.

compiler/control_flow.py has already attached each IF's and WHILE's subgraphs as Bodies in
main-graph indices (their inputs are the tensors the op passes) and turned resource variables
into state tensors. Here:
  IF     "if" on the condition's first element (TFLM reads cond->data.b[0]), the then-body's
         steps and copies of its results into the op's outputs, "else", the same for the
         else-body, "end";
  WHILE  copies of the inputs into the outputs (which hold the loop variables), "loop", the
         condition's steps, "break_unless" its result, the body's steps, copies of its results
         into the loop variables, "end". TFLM runs the body until the condition is false, with
         no bound; so does the generated code;
  READ_VARIABLE / ASSIGN_VARIABLE  a copy from / into the variable's state.
The planner keeps every buffer live into a loop live to its end (plan_memory.loop_regions).
"""

from __future__ import annotations

from ..ir import Graph, Op
from . import Control, KernelCall, Step, TensorArg, register, unsupported

ANY = (0, 1 << 16)


def copy_call(op: Op, graph: Graph, source: int, target: int) -> KernelCall:
    src, dst = graph.tensor(source), graph.tensor(target)
    if (src.dtype, src.nbytes) != (dst.dtype, dst.nbytes):
        raise unsupported(op, f"{src.label} ({src.dtype} {list(src.shape)}) cannot become "
                              f"{dst.label} ({dst.dtype} {list(dst.shape)})")
    return KernelCall(op=op, function="tinyc_copy", header="control_flow.h",
                      params_type="tinyc_copy_params", params=(("bytes", dst.nbytes),),
                      args=(TensorArg(source), TensorArg(target)), reads=(source,),
                      writes=(target,))


def _lower_body(graph: Graph, body) -> list[Step]:
    from ..lower import lower_op  # the same lowering as the main graph's ops

    steps: list[Step] = []
    for inner in body.ops:
        steps += lower_op(graph, inner)
    return steps


def _require_bool_scalar(op: Op, graph: Graph, t: int, what: str) -> None:
    tensor = graph.tensor(t)
    if tensor.dtype != "bool" or tensor.size < 1:
        raise unsupported(op, f"{what} {tensor.label} is {tensor.dtype} {list(tensor.shape)} "
                              f"(TFLM reads the first element of a bool tensor)")


@register("IF", types="any", inputs=(1, 1 << 16), outputs=ANY,
          notes="then/else subgraphs inlined as C if/else over static buffers; the condition's "
                "first element decides, as in TFLM")
def lower_if(graph: Graph, op: Op) -> tuple[Step, ...]:
    _require_bool_scalar(op, graph, op.inputs[0], "condition")
    steps: list[Step] = [Control(op, "if", op.inputs[0])]
    for name in ("then", "else"):
        body = op.options[name]
        if len(body.outputs) != len(op.outputs):
            raise unsupported(op, f"its {name} subgraph gives {len(body.outputs)} outputs for "
                                  f"{len(op.outputs)}")
        if name == "else":
            steps.append(Control(op, "else"))
        steps += _lower_body(graph, body)
        steps += [copy_call(op, graph, s, t) for s, t in zip(body.outputs, op.outputs)]
    steps.append(Control(op, "end"))
    return tuple(steps)


@register("WHILE", types="any", inputs=ANY, outputs=ANY,
          notes="cond/body subgraphs inlined as a C loop over static buffers; runs until the "
                "condition is false, as TFLM does (no bound)")
def lower_while(graph: Graph, op: Op) -> tuple[Step, ...]:
    cond, body = op.options["cond"], op.options["body"]
    if not len(op.inputs) == len(op.outputs) == len(body.outputs):
        raise unsupported(op, f"{len(op.inputs)} inputs, {len(op.outputs)} outputs and "
                              f"{len(body.outputs)} body results must be as many")
    if len(cond.outputs) != 1:
        raise unsupported(op, f"its condition subgraph gives {len(cond.outputs)} outputs (1)")
    _require_bool_scalar(op, graph, cond.outputs[0], "condition")
    for i, result in enumerate(body.outputs):
        if result in op.outputs and op.outputs.index(result) != i:
            # Copying the results back one by one would overwrite a value still to be read.
            raise unsupported(op, f"its body passes loop variable {op.outputs.index(result)} "
                                  f"through as variable {i} (a permutation of the variables)")
    steps: list[Step] = [copy_call(op, graph, s, t) for s, t in zip(op.inputs, op.outputs)]
    steps.append(Control(op, "loop"))
    steps += _lower_body(graph, cond)
    steps.append(Control(op, "break_unless", cond.outputs[0]))
    steps += _lower_body(graph, body)
    steps += [copy_call(op, graph, s, t) for s, t in zip(body.outputs, op.outputs) if s != t]
    steps.append(Control(op, "end"))
    return tuple(steps)


@register("READ_VARIABLE", types="any", inputs=1, notes="the variable lives in the state "
          "region (NAME_STATE_BYTES), initialised with what CALL_ONCE assigns")
def lower_read_variable(graph: Graph, op: Op) -> KernelCall:
    if not graph.tensor(op.inputs[0]).is_variable:
        raise unsupported(op, "its input is not a resource variable")
    return copy_call(op, graph, op.inputs[0], op.outputs[0])


@register("ASSIGN_VARIABLE", types="any", inputs=2, outputs=0,
          notes="copies into the variable's state")
def lower_assign_variable(graph: Graph, op: Op) -> KernelCall:
    if not graph.tensor(op.inputs[0]).is_variable:
        raise unsupported(op, "its first input is not a resource variable")
    return copy_call(op, graph, op.inputs[1], op.inputs[0])


@register("VAR_HANDLE", types="resource", inputs=0,
          notes="container and shared_name name one variable (no code)")
@register("CALL_ONCE", types="any", inputs=0, outputs=0,
          notes="its subgraph must assign constants: they are the variables' initial values, "
                "so nothing runs at invoke time")
def lower_resolved(graph: Graph, op: Op) -> KernelCall:
    # control_flow.resolve_resource_variables removes these before lowering.
    raise unsupported(op, "a resource op outside the main graph is not supported")
