# uPlot's dist files from npm, for the pages compiled into the binary (the backtest tearsheet,
# the live dashboard): scripts/install-deps.sh fetches the pinned version into
# /opt/nautilus-deps; nothing of it is committed. Sets NAUTILUS_UPLOT_DIR (the package folder).
set(NAUTILUS_UPLOT_VERSION 1.6.32)
find_path(NAUTILUS_UPLOT_DIR dist/uPlot.iife.min.js
          HINTS /opt/nautilus-deps/uplot-${NAUTILUS_UPLOT_VERSION}/package NO_DEFAULT_PATH)
if(NOT NAUTILUS_UPLOT_DIR)
  message(FATAL_ERROR "uPlot is missing: run scripts/install-deps.sh (it fetches npm's "
                      "uplot@${NAUTILUS_UPLOT_VERSION} into /opt/nautilus-deps)")
endif()
