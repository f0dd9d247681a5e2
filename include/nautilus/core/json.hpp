// JSON string escaping for the few places that write JSON by hand (the codec's JSON lines, HTTP
// error bodies) rather than through a JSON library.
//
//   std::string out;
//   core::append_json_string("say \"hi\"", out);   // out == R"("say \"hi\"")"
#pragma once

#include <string>
#include <string_view>

namespace nautilus::core {

// Appends `s` as a quoted JSON string literal (control characters as \u00XX).
void append_json_string(std::string_view s, std::string& out);

}  // namespace nautilus::core
