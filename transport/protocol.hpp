#pragma once

// Client protocol v1 (docs/protocol.md): every message is one msgpack map in
// the last ZeroMQ frame. Decoding keeps the caller's `id` and `args` as the
// exact bytes sent, so they travel on and are echoed without re-encoding.

#include "transport/error_code.hpp"
#include "transport/function_spec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ferry::transport {

/// The packed msgpack nil, the id of replies to messages whose id is unknown.
inline const std::string nil_id{"\xc0", 1};

enum class request_type { call, cancel, info, ping };

/// A well-formed client message.
struct client_request {
  request_type type = request_type::ping;
  std::string id = nil_id; ///< the packed id scalar, echoed byte for byte
  std::string fn;          ///< call: function name
  std::string args;        ///< call: packed argument array, as sent
  std::int64_t deadline_ms = -1; ///< call: budget from arrival, -1 = none
  bool status = false;     ///< call: stream status events
};

/// A message that cannot be served; answered with an error reply carrying
/// `id` (nil when it could not be read).
struct request_error {
  std::string id = nil_id;
  errc code = errc::bad_request;
  std::string message;
};

/// Decodes one message body. Never throws: malformed msgpack, a non-map body,
/// missing or mistyped keys, deep nesting and length bombs become errors.
[[nodiscard]] std::variant<client_request, request_error>
decode_request(std::string_view body);

/// Reads just the id of a message (for a `too_large` reply) without decoding
/// the fields after it; nil when it cannot be read.
[[nodiscard]] std::string peek_id(std::string_view body);

// -- server -> client -----------------------------------------------------------

[[nodiscard]] std::string encode_result(std::string_view id, std::string_view data);
[[nodiscard]] std::string encode_error(std::string_view id, errc code,
                                       std::string_view message);
/// `eta_ms` < 0 encodes as nil (no measurement yet).
[[nodiscard]] std::string encode_queued(std::string_view id, std::uint32_t rank,
                                        std::uint32_t queue_size, std::int64_t eta_ms);
[[nodiscard]] std::string encode_started(std::string_view id, std::uint32_t batch_size);
[[nodiscard]] std::string encode_pong(std::string_view id);
/// Each function's entry carries its spec plus "nodes": [{"node", "slots"}]
/// and "slots" (their sum).
[[nodiscard]] std::string encode_info(std::string_view id, std::string_view version,
                                      const std::vector<function_info>& functions);

// -- client -> server -----------------------------------------------------------

[[nodiscard]] std::string encode_call(std::string_view id, std::string_view fn,
                                      std::string_view args,
                                      std::int64_t deadline_ms = -1,
                                      bool status = false);
[[nodiscard]] std::string encode_cancel(std::string_view id);
[[nodiscard]] std::string encode_info_request(std::string_view id);
[[nodiscard]] std::string encode_ping(std::string_view id);

/// Any reply a server sends, decoded for clients. Fields not carried by the
/// message's type keep their defaults.
struct server_reply {
  std::string type;  ///< result, error, status, info, pong
  std::string id = nil_id;
  std::string data;  ///< result: packed output array
  errc code = errc::none;
  std::string code_name; ///< error: the code as sent (`code` is bad_request
                         ///< for names this build does not know)
  std::string message;
  std::string stage; ///< status: queued or started
  std::uint32_t rank = 0;
  std::uint32_t queue_size = 0;
  std::int64_t eta_ms = -1;
  std::uint32_t batch_size = 0;
  std::string version;
  std::vector<function_spec> functions;
  /// info: where each function runs now; nodes[i] belongs to functions[i].
  std::vector<std::vector<node_capacity>> nodes;
};

[[nodiscard]] std::optional<server_reply> decode_reply(std::string_view body,
                                                       std::string* err = nullptr);

} // namespace ferry::transport
