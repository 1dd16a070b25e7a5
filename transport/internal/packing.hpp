#pragma once

// Pieces shared by the client and node protocol codecs.

#include "transport/codec.hpp"
#include "transport/function_spec.hpp"

#include <string>
#include <map>
#include <string_view>
#include <vector>

namespace ferry::transport::internal {

using packer = msgpack::packer<msgpack::sbuffer>;

inline void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

inline std::string to_string(const msgpack::sbuffer& buf) {
  return std::string{buf.data(), buf.size()};
}

/// Packs a function's spec as a map of its 8 fields plus `extra_pairs` the
/// caller packs right after.
inline void encode_spec(packer& pk, const function_spec& f, std::uint32_t extra_pairs = 0) {
  pk.pack_map(8 + extra_pairs);
  pack_str(pk, "name");
  pack_str(pk, f.name);
  pack_str(pk, "batch");
  pk.pack(f.batch);
  pack_str(pk, "max_batch_size");
  pk.pack(f.knob.max_batch_size);
  pack_str(pk, "max_batch_delay_ms");
  pk.pack(static_cast<double>(f.knob.max_batch_delay_us) / 1000.0);
  pack_str(pk, "concurrency");
  pk.pack(f.knob.concurrency);
  pack_str(pk, "queue_limit");
  pk.pack(f.knob.queue_limit);
  pack_str(pk, "inputs");
  pk.pack(f.inputs);
  pack_str(pk, "outputs");
  pk.pack(f.outputs);
}

/// Reads a spec map; fields missing or mistyped keep their defaults.
inline function_spec decode_spec(const msgpack::object& o) {
  function_spec f;
  if (o.type != msgpack::type::MAP)
    return f;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    std::string key;
    if (!try_convert(kv.key, key))
      continue;
    const auto& v = kv.val;
    double delay_ms = 0;
    if (key == "name")
      (void) try_convert(v, f.name);
    else if (key == "batch")
      (void) try_convert(v, f.batch);
    else if (key == "max_batch_size")
      (void) try_convert(v, f.knob.max_batch_size);
    else if (key == "max_batch_delay_ms" && try_convert(v, delay_ms))
      f.knob.max_batch_delay_us = static_cast<std::int64_t>(delay_ms * 1000.0 + 0.5);
    else if (key == "concurrency")
      (void) try_convert(v, f.knob.concurrency);
    else if (key == "queue_limit")
      (void) try_convert(v, f.knob.queue_limit);
    else if (key == "inputs")
      (void) try_convert(v, f.inputs);
    else if (key == "outputs")
      (void) try_convert(v, f.outputs);
  }
  return f;
}

/// Reads the "nodes" list of an info entry: [{"node": N, "slots": S}, ...].
inline std::vector<node_capacity> decode_capacity(const msgpack::object& o) {
  std::vector<node_capacity> out;
  if (o.type != msgpack::type::MAP)
    return out;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    std::string key;
    if (!try_convert(kv.key, key) || key != "nodes" || kv.val.type != msgpack::type::ARRAY)
      continue;
    for (std::uint32_t j = 0; j < kv.val.via.array.size; ++j) {
      std::map<std::string, msgpack::object> entry;
      node_capacity n;
      if (try_convert(kv.val.via.array.ptr[j], entry)) {
        if (auto f = entry.find("node"); f != entry.end())
          (void) try_convert(f->second, n.node);
        if (auto f = entry.find("slots"); f != entry.end())
          (void) try_convert(f->second, n.slots);
      }
      out.push_back(std::move(n));
    }
  }
  return out;
}

} // namespace ferry::transport::internal
