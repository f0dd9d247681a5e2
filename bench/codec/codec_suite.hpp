// `nautilus bench codec`: the wire codec's encode and decode per message, for a bar and for
// the largest message of the vocabulary, against msgpack-cxx's own msgpack::unpack of the same
// bytes into its object tree (nothing converted), measured in the same run.
#pragma once

#include "../common/report.hpp"

namespace nautilus::bench {

void run_codec_suite(const SuiteOptions& options);

}  // namespace nautilus::bench
