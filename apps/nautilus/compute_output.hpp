// What every `nautilus compute <engine>` shares: the CSV it writes (a file or standard output,
// doubles in full round-trip precision, NaN as an empty cell) and the progress line it shows
// on a terminal while reading a large file.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "nautilus/core/error.hpp"

namespace nautilus::app {

class CsvOut {
 public:
  // "-" is standard output.
  [[nodiscard]] static core::Result<CsvOut> open(const std::string& path) {
    if (path == "-") return CsvOut(stdout, path, false);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      return core::fail(core::ErrorCode::kIo, fmt::format("{}: cannot write", path));
    }
    return CsvOut(f, path, true);
  }
  CsvOut(CsvOut&& o) noexcept : file_(o.file_), path_(std::move(o.path_)), owned_(o.owned_) {
    o.file_ = nullptr;
  }
  CsvOut& operator=(CsvOut&&) = delete;
  ~CsvOut() {
    if (owned_ && file_ != nullptr) std::fclose(file_);
  }

  void text(std::string_view s) { buf_.append(s.data(), s.data() + s.size()); }
  void comma() { buf_.push_back(','); }
  // Full precision (the shortest text that reads back as the same double); NaN: empty.
  void number(double v) {
    if (!std::isnan(v)) fmt::format_to(std::back_inserter(buf_), "{}", v);
  }
  void integer(std::uint64_t v) { fmt::format_to(std::back_inserter(buf_), "{}", v); }
  [[nodiscard]] core::Result<void> end_row() {
    buf_.push_back('\n');
    if (buf_.size() >= 1 << 16) return flush();
    return {};
  }
  [[nodiscard]] core::Result<void> flush() {
    if (buf_.size() > 0 && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      return core::fail(core::ErrorCode::kIo, fmt::format("{}: write failed", path_));
    }
    buf_.clear();
    if (std::fflush(file_) != 0) {
      return core::fail(core::ErrorCode::kIo, fmt::format("{}: write failed", path_));
    }
    return {};
  }

 private:
  CsvOut(std::FILE* f, std::string path, bool owned)
      : file_(f), path_(std::move(path)), owned_(owned) {}
  std::FILE* file_;
  std::string path_;
  bool owned_;
  fmt::memory_buffer buf_;
};

// "compute features: 42% of bars.csv.gz (1200000 rows)", rewritten in place at most twice a
// second, only when standard error is a terminal.
class Progress {
 public:
  Progress(std::string command, std::string file)
      : command_(std::move(command)), file_(std::move(file)), tty_(::isatty(2) == 1) {}
  // `reader.progress()` (a CsvReader's: 0 to 1) is asked only when a line is due, since it
  // costs a system call.
  template <class Reader>
  void update(const Reader& reader, std::uint64_t rows) {
    if (!tty_ || (rows & 0xfff) != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    shown_ = true;
    fmt::print(stderr, "\r{}: {:3.0f}% of {} ({} rows)", command_, reader.progress() * 100, file_,
               rows);
  }
  void done() {
    if (shown_) fmt::print(stderr, "\n");
  }

 private:
  std::string command_;
  std::string file_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace nautilus::app
