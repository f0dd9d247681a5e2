// A bench's Python anchor: runs `/usr/bin/python3 <script> <args>` from the source tree with
// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for that command alone (the machine's
// environment pins OpenBLAS to a kernel a numpy anchor should not be held to; the anchors say
// in their output which kernel ran), and reads the one JSON object it prints.
//
//   auto out = bench::run_python_anchor("bench/models/toraniko_numpy.py", "DIR 3000 2520 11 3",
//                                       "bench models");
//   if (out) use(out->at("seconds"));
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string_view>

namespace nautilus::bench {

// `script` relative to the source tree; `args` already shell-quoted. nullopt, with what went
// wrong on standard error under `who`, when it fails or prints something else.
[[nodiscard]] std::optional<boost::json::object> run_python_anchor(std::string_view script,
                                                                   std::string_view args,
                                                                   std::string_view who);

}  // namespace nautilus::bench
