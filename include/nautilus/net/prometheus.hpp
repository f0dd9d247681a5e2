// Prometheus text exposition (format 0.0.4): one HELP/TYPE header per family, then samples.
//
//   net::PrometheusText p;
//   p.family("nautilus_http_requests_total", "counter", "HTTP requests served");
//   p.sample("nautilus_http_requests_total", {{"engine", "vpin"}}, 42);
//   std::string body = p.str();
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace nautilus::net {

class PrometheusText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, double value);
  // Appends text that is already in the exposition format (another component's metrics).
  void append(std::string_view text) { out_.append(text); }
  [[nodiscard]] const std::string& str() const noexcept { return out_; }

 private:
  std::string out_;
};

}  // namespace nautilus::net
