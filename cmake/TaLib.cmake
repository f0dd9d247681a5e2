# TA-Lib, compiled from the C source that npm's `talib` package bundles (fetched by
# scripts/install-deps.sh into /opt/nautilus-deps; nothing of it is committed). It is the
# reference the features engine is tested against and the anchor of `nautilus bench signals`,
# never part of an engine. The functions compile as they are; only the function and common
# directories are needed (no abstract interface).
find_path(TALIB_SOURCE_DIR include/ta_func.h
          HINTS /opt/nautilus-deps/talib-2.0.5/package/src/lib NO_DEFAULT_PATH)
if(NOT TALIB_SOURCE_DIR)
  message(FATAL_ERROR "TA-Lib's C source is missing: run scripts/install-deps.sh "
                      "(it fetches npm's talib@2.0.5 into /opt/nautilus-deps)")
endif()
file(GLOB TALIB_SOURCES CONFIGURE_DEPENDS ${TALIB_SOURCE_DIR}/src/ta_func/*.c
     ${TALIB_SOURCE_DIR}/src/ta_common/*.c)
add_library(talib_reference STATIC ${TALIB_SOURCES})
add_library(talib::talib ALIAS talib_reference)
target_include_directories(talib_reference SYSTEM PUBLIC ${TALIB_SOURCE_DIR}/include
                           PRIVATE ${TALIB_SOURCE_DIR}/src/ta_common)
# Third-party code: its warnings are not ours; -O2 as its own build uses, and no contraction
# into fused multiply-adds, so its arithmetic is the plain IEEE sequence the tests compare.
target_compile_options(talib_reference PRIVATE -w -O2 -ffp-contract=off)
set_target_properties(talib_reference PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
