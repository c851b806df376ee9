# tinyc.cmake: compile TensorFlow Lite models with tinyc as a step of a CMake build.
#
#   execute_process(COMMAND tinyc --cmake-dir OUTPUT_VARIABLE TINYC_CMAKE_DIR
#                   OUTPUT_STRIP_TRAILING_WHITESPACE)
#   include(${TINYC_CMAKE_DIR}/tinyc.cmake)        # or: find_package(tinyc CONFIG), tinyc_DIR
#   tinyc_add_model(app model.tflite [NAME name] [OPTIONS --scratch never ...] [OUTPUT_DIR dir])
#
# tinyc_add_model(<target> <model> ...) runs `tinyc compile` at build time, into
# ${CMAKE_CURRENT_BINARY_DIR}/tinyc-generated/<name> unless OUTPUT_DIR says otherwise, and adds the
# generated <name>.cpp to <target> and its folder to <target>'s include path (PUBLIC), so the
# target's sources #include "<name>.h". NAME defaults to the model file's stem made a C
# identifier, as `tinyc compile` does; OPTIONS are passed to `tinyc compile` as they are.
#
# The model is regenerated when the .tflite changes, when tinyc changes (a new version, or its
# package's files replaced by an upgrade) and when NAME or OPTIONS change; otherwise a rebuild
# runs nothing. A model tinyc refuses fails the build with tinyc's one-line message.
#
# With OPTIONS --shared-runtime, the models of a build share one runtime folder: the kernels
# are written once, by `tinyc runtime`, into ${CMAKE_BINARY_DIR}/tinyc-generated/_runtime, which
# is added to <target>'s include path (each kernel is then linked once, whatever the number of
# models).
#
# Which tinyc: the TINYC_EXECUTABLE cache variable (a program, or a command list such as
# "python3;-m;tinyc"), else the TINYC environment variable, else `tinyc` on the PATH.
#
# Works in ESP-IDF components too: call it after idf_component_register() with
# ${COMPONENT_LIB} as the target (ESP-IDF's early requirements pass never reaches it; it does
# nothing if called there).

cmake_minimum_required(VERSION 3.14)  # file name without the last extension (NAME_WLE)
include_guard(GLOBAL)

set(TINYC_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(_tinyc_command out)
  if(TINYC_EXECUTABLE)
    set(command ${TINYC_EXECUTABLE})
  elseif(DEFINED ENV{TINYC} AND NOT "$ENV{TINYC}" STREQUAL "")
    separate_arguments(command NATIVE_COMMAND "$ENV{TINYC}")
  else()
    find_program(TINYC_FOUND_EXECUTABLE tinyc)
    if(NOT TINYC_FOUND_EXECUTABLE)
      message(FATAL_ERROR "tinyc_add_model: tinyc not found on the PATH; install it "
                          "(pip install tinyc) or set TINYC_EXECUTABLE")
    endif()
    set(command "${TINYC_FOUND_EXECUTABLE}")
  endif()
  set(${out} ${command} PARENT_SCOPE)
endfunction()

# Write `content` to `path` only if it differs, so an unchanged configure touches nothing.
function(_tinyc_write_if_changed path content)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${content}")
endfunction()

function(tinyc_add_model target model)
  if(CMAKE_BUILD_EARLY_EXPANSION)  # ESP-IDF's requirements pass: no targets exist yet
    return()
  endif()
  cmake_parse_arguments(PARSE_ARGV 2 TINYC "" "NAME;OUTPUT_DIR" "OPTIONS")
  if(TINYC_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tinyc_add_model: unexpected arguments: ${TINYC_UNPARSED_ARGUMENTS} "
                        "(takes <target> <model> [NAME name] [OUTPUT_DIR dir] [OPTIONS ...])")
  endif()
  if(NOT TARGET "${target}")
    message(FATAL_ERROR "tinyc_add_model: ${target} is not a target (create it first)")
  endif()
  get_filename_component(model "${model}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT TINYC_NAME)
    get_filename_component(stem "${model}" NAME_WLE)
    string(MAKE_C_IDENTIFIER "${stem}" TINYC_NAME)
  endif()
  if(NOT TINYC_OUTPUT_DIR)
    # (not a folder named "tinyc": `python -m tinyc` run from the build folder would import it)
    set(TINYC_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/tinyc-generated/${TINYC_NAME}")
  endif()
  get_filename_component(out "${TINYC_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")

  _tinyc_command(tinyc)
  execute_process(COMMAND ${tinyc} --version
                  OUTPUT_VARIABLE version ERROR_VARIABLE error RESULT_VARIABLE status
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "tinyc_add_model: `${tinyc} --version` failed: ${error}")
  endif()
  execute_process(COMMAND ${tinyc} --cmake-dir
                  OUTPUT_VARIABLE package_cmake_dir RESULT_VARIABLE status
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(package_files "")
  if(status EQUAL 0 AND EXISTS "${package_cmake_dir}/../__init__.py")
    # An upgrade (or an edit, in a checkout) rewrites the package's __init__.py, which holds
    # its version: regenerate then, and configure again so the recorded version follows.
    get_filename_component(package_init "${package_cmake_dir}/../__init__.py" ABSOLUTE)
    set(package_files "${package_init}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${package_init}")
  endif()

  # What decides the output besides the model's bytes: a change here reruns tinyc.
  set(inputs "${out}.tinyc-inputs")
  string(REPLACE ";" " " options_text "${TINYC_OPTIONS}")
  _tinyc_write_if_changed("${inputs}"
    "${version}\ncompile --name ${TINYC_NAME} ${options_text}\nmodel ${model}\n")

  file(RELATIVE_PATH shown "${CMAKE_SOURCE_DIR}" "${model}")
  add_custom_command(
    OUTPUT "${out}/${TINYC_NAME}.cpp" "${out}/${TINYC_NAME}.h"
    COMMAND ${tinyc} compile "${model}" -o "${out}" --name "${TINYC_NAME}" ${TINYC_OPTIONS}
    DEPENDS "${model}" "${inputs}" ${package_files}
    COMMENT "tinyc: compiling ${shown} into ${TINYC_NAME}"
    VERBATIM)
  target_sources("${target}" PRIVATE "${out}/${TINYC_NAME}.cpp" "${out}/${TINYC_NAME}.h")
  target_include_directories("${target}" PUBLIC "${out}")
  if("--shared-runtime" IN_LIST TINYC_OPTIONS)
    _tinyc_shared_runtime("${target}" "${version}" "${package_files}")
  endif()
endfunction()

# The runtime folder of the build's --shared-runtime models: one custom command for the whole
# build (a global property remembers it), added to each target that has such a model.
function(_tinyc_shared_runtime target version package_files)
  set(dir "${CMAKE_BINARY_DIR}/tinyc-generated/_runtime")
  set(id_header "${dir}/tinyc_runtime/tinyc_runtime_id.h")
  get_property(defined GLOBAL PROPERTY TINYC_SHARED_RUNTIME_DEFINED)
  if(NOT defined)
    set_property(GLOBAL PROPERTY TINYC_SHARED_RUNTIME_DEFINED TRUE)
    _tinyc_command(tinyc)
    set(inputs "${dir}.tinyc-inputs")
    _tinyc_write_if_changed("${inputs}" "${version}\nruntime\n")
    add_custom_command(
      OUTPUT "${id_header}"
      COMMAND ${tinyc} runtime -o "${dir}"
      DEPENDS "${inputs}" ${package_files}
      COMMENT "tinyc: writing the shared runtime"
      VERBATIM)
  endif()
  get_target_property(sources "${target}" SOURCES)
  if(NOT "${id_header}" IN_LIST sources)
    target_sources("${target}" PRIVATE "${id_header}")
    target_include_directories("${target}" PUBLIC "${dir}")
  endif()
endfunction()
