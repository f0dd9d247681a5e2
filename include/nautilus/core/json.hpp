// JSON text, written one way everywhere (REST bodies, the codec's JSON lines, the recorder):
// build a boost::json::value (for messages, boost::json::value_from(msg): model/json.hpp),
// then write it with to_json_text. Unlike boost::json::serialize it writes doubles in their
// shortest round-trip form (0.31, not 3.1E-1) and NaN or infinities as null, so every output
// is valid JSON that people can read.
//
//   boost::json::object o{{"symbol", "AAPL"}, {"vpin", 0.31}};
//   std::string body = core::to_json_text(o);     // {"symbol":"AAPL","vpin":0.31}
//   std::string out;
//   core::append_json_string("say \"hi\"", out);   // out == R"("say \"hi\"")"
#pragma once

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

namespace nautilus::core {

// Appends `s` as a quoted JSON string literal (control characters as \u00XX).
void append_json_string(std::string_view s, std::string& out);

// Appends `v` as compact JSON text.
void append_json(const boost::json::value& v, std::string& out);
[[nodiscard]] std::string to_json_text(const boost::json::value& v);

// A double in its shortest form that reads back exactly; "null" for NaN and infinities.
void append_json_number(double v, std::string& out);

}  // namespace nautilus::core
