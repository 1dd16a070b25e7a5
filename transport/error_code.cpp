#include "transport/error_code.hpp"

#include <array>

namespace ferry::transport {

namespace {

constexpr std::array<std::string_view, 13> names = {
  "none",       "bad_request",       "unknown_fn", "bad_args",
  "duplicate_id", "queue_full",      "deadline_exceeded", "cancelled",
  "fn_error",   "bad_output",        "worker_lost", "unavailable",
  "too_large",
};

} // namespace

std::string_view to_string(errc code) {
  auto i = static_cast<std::size_t>(code);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<errc>(i);
  return std::nullopt;
}

} // namespace ferry::transport
