#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::transport {

/// The wire error codes of client protocol v1 (docs/protocol.md). `none`
/// marks success; every other value is a terminal error a client can see.
enum class errc : std::uint8_t {
  none = 0,
  bad_request,
  unknown_fn,
  bad_args,
  duplicate_id,
  queue_full,
  deadline_exceeded,
  cancelled,
  fn_error,
  bad_output,
  worker_lost,
  unavailable,
  too_large,
};

/// The code's name on the wire, e.g. "queue_full".
[[nodiscard]] std::string_view to_string(errc code);

/// Parses a wire name; nullopt for names the protocol does not define.
[[nodiscard]] std::optional<errc> errc_from_string(std::string_view name);

/// The result of one request: a packed msgpack array of outputs on success,
/// or an error code with a human-readable message.
struct outcome {
  errc code = errc::none;
  std::string body; ///< packed outputs when code == none, else the message

  [[nodiscard]] bool ok() const noexcept { return code == errc::none; }

  static outcome success(std::string packed_outputs) {
    return {errc::none, std::move(packed_outputs)};
  }
  static outcome failure(errc code, std::string message) {
    return {code, std::move(message)};
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome& x) {
  return f(x.code, x.body);
}

} // namespace ferry::transport
