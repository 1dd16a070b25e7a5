#pragma once

// Node protocol v1 (docs/protocol.md): how worker nodes and the head talk.
// A worker node connects a DEALER to the head's cluster ROUTER; every message
// is one frame holding one msgpack map with a string "type".

#include "transport/error_code.hpp"
#include "transport/function_spec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::transport {

inline constexpr std::uint32_t node_protocol_version = 1;

/// One decoded node-protocol message; fields not carried by its type keep
/// their defaults.
struct node_message {
  std::string type;        ///< join, heartbeat, result, leave (node -> head);
                           ///< welcome, refuse, run, heartbeat, rejoin, bye
                           ///< (head -> node)
  std::uint32_t version = 0;               ///< join, welcome
  std::string node;                        ///< join: the node's name
  std::vector<function_spec> functions;    ///< join: served functions; capacity
                                           ///< per function = knob.concurrency
  std::uint64_t batch = 0;                 ///< run, result
  std::string fn;                          ///< run
  std::vector<std::string> args;           ///< run: one packed array per request
  std::vector<outcome> outcomes;           ///< result: one per request
  std::int64_t heartbeat_ms = 0;           ///< welcome
  std::int64_t timeout_ms = 0;             ///< welcome
  std::vector<std::pair<std::string, std::string>> refused; ///< welcome: (fn, reason)
  std::string reason;                      ///< refuse
};

/// Decodes a node-protocol message; nullopt with `*err` for malformed input.
[[nodiscard]] std::optional<node_message> decode_node_message(std::string_view body,
                                                              std::string* err);

[[nodiscard]] std::string encode_join(std::string_view node,
                                      const std::vector<function_spec>& functions);
[[nodiscard]] std::string encode_welcome(
  std::int64_t heartbeat_ms, std::int64_t timeout_ms,
  const std::vector<std::pair<std::string, std::string>>& refused);
[[nodiscard]] std::string encode_refuse(std::string_view reason);
[[nodiscard]] std::string encode_run(std::uint64_t batch, std::string_view fn,
                                     const std::vector<std::string>& args);
[[nodiscard]] std::string encode_node_result(std::uint64_t batch,
                                             const std::vector<outcome>& outcomes);
/// heartbeat, leave, rejoin and bye carry nothing but their type.
[[nodiscard]] std::string encode_node_signal(std::string_view type);

} // namespace ferry::transport
