// core::to_json_text: the one writer of JSON text (REST bodies, recorded messages).
#include "nautilus/core/json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>

namespace nautilus::core {
namespace {

TEST(Json, DoublesAreWrittenInTheirShortestExactForm) {
  // boost::json::serialize would write 3.1E-1 and 1E0.
  boost::json::object o{{"a", 0.31}, {"b", 1.0}, {"c", -2.5e-7}, {"d", 123456789.125}};
  EXPECT_EQ(to_json_text(o), R"({"a":0.31,"b":1,"c":-2.5e-07,"d":123456789.125})");
  const double back = boost::json::parse(to_json_text(boost::json::value(0.1 + 0.2))).as_double();
  EXPECT_EQ(back, 0.1 + 0.2) << "reads back to the same double";
}

TEST(Json, NanAndInfinitiesAreNull) {
  boost::json::array a{std::numeric_limits<double>::quiet_NaN(),
                       std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()};
  EXPECT_EQ(to_json_text(a), "[null,null,null]");
}

TEST(Json, StringsAreEscapedAndBytesThatAreNotUtf8BecomeTheReplacementCharacter) {
  std::string out;
  append_json_string("q\"\\\n\x01", out);
  EXPECT_EQ(out, R"("q\"\\\n\u0001")");
  out.clear();
  append_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x88", out);  // é € 📈 pass as they are
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x88\"");
  out.clear();
  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  append_json_string("a\x80z \xe2\x82 \xc0\xaf \xed\xa0\x80", out);
  EXPECT_EQ(out,
            "\"a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
  EXPECT_NO_THROW((void)boost::json::parse(out));
}

}  // namespace
}  // namespace nautilus::core
