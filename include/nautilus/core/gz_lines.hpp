// Lines of a text file, plain or gzip (zlib reads plain files unchanged), with the line number
// and the errors every CSV reader gives: `file:line: read error`, a line longer than the
// buffer. The hub's market-data and reference readers and the toraniko universe reader use it;
// whoever includes it links zlib (nautilus::core does, publicly).
//
//   auto in = GzLines::open(path);            // kIo "<path>: cannot open"
//   while (true) { auto l = in->next(); if (!l || !*l) break; use(**l, in->line()); }
#pragma once

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::core {

class GzLines {
 public:
  [[nodiscard]] static core::Result<GzLines> open(std::string path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) {
      return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot open", path));
    }
    return GzLines(std::move(path), f);
  }

  // The next line without its newline (and without a trailing CR); nullopt at the end. The
  // view is valid until the next call.
  core::Result<std::optional<std::string_view>> next() {
    gzFile f = file_.get();
    if (gzgets(f, buf_->data(), static_cast<int>(buf_->size())) == nullptr) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      if (err != Z_OK && err != Z_BUF_ERROR) {
        return core::fail(core::ErrorCode::kIo,
                          fmt::format("{}:{}: read error: {}", path_, line_ + 1, msg));
      }
      return std::optional<std::string_view>{};
    }
    ++line_;
    std::string_view line(buf_->data());
    if (line.empty() || line.back() != '\n') {
      if (!gzeof(f)) {
        return core::fail(core::ErrorCode::kParse, fmt::format("{}:{}: line longer than {} bytes",
                                                               path_, line_, buf_->size() - 2));
      }
    } else {
      line.remove_suffix(1);
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return std::optional<std::string_view>(line);
  }

  [[nodiscard]] std::size_t line() const noexcept { return line_; }  // of the last next()
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] gzFile file() const noexcept { return file_.get(); }

 private:
  GzLines(std::string path, gzFile f) : path_(std::move(path)), file_(f, gzclose) {}

  std::string path_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
  std::size_t line_ = 0;
  std::unique_ptr<std::array<char, 4096>> buf_ = std::make_unique<std::array<char, 4096>>();
};

}  // namespace nautilus::core
