#include "transport/value.hpp"

#include <cstdio>

namespace ferry::transport {

namespace {

void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void render(std::string& out, const value& v) {
  std::visit(
    [&out](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::monostate>) {
        out += "null";
      } else if constexpr (std::is_same_v<T, bool>) {
        out += x ? "true" : "false";
      } else if constexpr (std::is_same_v<T, double>) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.17g", x);
        out += buf;
      } else if constexpr (std::is_integral_v<T>) {
        out += std::to_string(x);
      } else if constexpr (std::is_same_v<T, std::string>) {
        append_quoted(out, x);
      } else if constexpr (std::is_same_v<T, bytes>) {
        static constexpr char hex[] = "0123456789abcdef";
        out += "b\"";
        for (auto b : x) {
          out += hex[b >> 4];
          out += hex[b & 0xf];
        }
        out += '"';
      } else if constexpr (std::is_same_v<T, value::array>) {
        out += '[';
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (i > 0)
            out += ", ";
          render(out, x[i]);
        }
        out += ']';
      } else {
        out += '{';
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (i > 0)
            out += ", ";
          render(out, x[i].first);
          out += ": ";
          render(out, x[i].second);
        }
        out += '}';
      }
    },
    v.data());
}

} // namespace

std::string to_string(const value& x) {
  std::string out;
  render(out, x);
  return out;
}

} // namespace ferry::transport
