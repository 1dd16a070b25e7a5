#include "transport/node_protocol.hpp"

#include "transport/codec.hpp"
#include "transport/internal/map_walker.hpp"
#include "transport/internal/packing.hpp"

namespace ferry::transport {

namespace {

using internal::map_walker;
using internal::pack_str;
using internal::packer;

void begin(packer& pk, std::uint32_t pairs, std::string_view type) {
  pk.pack_map(pairs);
  pack_str(pk, "type");
  pack_str(pk, type);
}

/// An outcome on the wire: {"data": [...]} or {"code": C, "message": M}.
bool decode_outcome(std::string_view raw, outcome& out, std::string* err) {
  map_walker walker{raw};
  std::string key;
  msgpack::object_handle val;
  std::string_view bytes;
  bool has_data = false;
  std::string code = "none";
  while (walker.next(key, val, bytes)) {
    if (key == "data" && val.get().type == msgpack::type::ARRAY) {
      out.body.assign(bytes);
      has_data = true;
    } else if (key == "code") {
      (void) try_convert(val.get(), code);
    } else if (key == "message" && !has_data) {
      (void) try_convert(val.get(), out.body);
    }
  }
  if (!walker.error().empty()) {
    *err = walker.error();
    return false;
  }
  if (has_data) {
    out.code = errc::none;
    return true;
  }
  auto c = errc_from_string(code);
  if (!c || *c == errc::none) {
    *err = "outcome has neither data nor a known error code";
    return false;
  }
  out.code = *c;
  return true;
}

} // namespace

std::optional<node_message> decode_node_message(std::string_view body, std::string* err) {
  map_walker walker{body};
  node_message msg;
  std::string key;
  msgpack::object_handle val;
  std::string_view raw;
  while (walker.next(key, val, raw)) {
    const auto& o = val.get();
    if (key == "type") {
      (void) try_convert(o, msg.type);
    } else if (key == "version") {
      (void) try_convert(o, msg.version);
    } else if (key == "node") {
      (void) try_convert(o, msg.node);
    } else if (key == "functions" && o.type == msgpack::type::ARRAY) {
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        msg.functions.push_back(internal::decode_spec(o.via.array.ptr[i]));
    } else if (key == "batch") {
      (void) try_convert(o, msg.batch);
    } else if (key == "fn") {
      (void) try_convert(o, msg.fn);
    } else if (key == "args" || key == "outcomes") {
      auto items = internal::split_array(raw, err);
      if (!items)
        return std::nullopt;
      for (auto item : *items) {
        if (key == "args") {
          msg.args.emplace_back(item);
          continue;
        }
        outcome out;
        if (!decode_outcome(item, out, err))
          return std::nullopt;
        msg.outcomes.push_back(std::move(out));
      }
    } else if (key == "heartbeat_ms") {
      (void) try_convert(o, msg.heartbeat_ms);
    } else if (key == "timeout_ms") {
      (void) try_convert(o, msg.timeout_ms);
    } else if (key == "refused" && o.type == msgpack::type::ARRAY) {
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        std::map<std::string, std::string> entry;
        if (try_convert(o.via.array.ptr[i], entry))
          msg.refused.emplace_back(entry["fn"], entry["reason"]);
      }
    } else if (key == "reason") {
      (void) try_convert(o, msg.reason);
    }
  }
  if (!walker.error().empty()) {
    *err = walker.error();
    return std::nullopt;
  }
  if (msg.type.empty()) {
    *err = "message has no 'type'";
    return std::nullopt;
  }
  return msg;
}

std::string encode_join(std::string_view node, const std::vector<function_spec>& functions) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 4, "join");
  pack_str(pk, "version");
  pk.pack(node_protocol_version);
  pack_str(pk, "node");
  pack_str(pk, node);
  pack_str(pk, "functions");
  pk.pack_array(static_cast<std::uint32_t>(functions.size()));
  for (const auto& f : functions)
    internal::encode_spec(pk, f);
  return internal::to_string(buf);
}

std::string encode_welcome(std::int64_t heartbeat_ms, std::int64_t timeout_ms,
                           const std::vector<std::pair<std::string, std::string>>& refused) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 5, "welcome");
  pack_str(pk, "version");
  pk.pack(node_protocol_version);
  pack_str(pk, "heartbeat_ms");
  pk.pack(heartbeat_ms);
  pack_str(pk, "timeout_ms");
  pk.pack(timeout_ms);
  pack_str(pk, "refused");
  pk.pack_array(static_cast<std::uint32_t>(refused.size()));
  for (const auto& [fn, reason] : refused) {
    pk.pack_map(2);
    pack_str(pk, "fn");
    pack_str(pk, fn);
    pack_str(pk, "reason");
    pack_str(pk, reason);
  }
  return internal::to_string(buf);
}

std::string encode_refuse(std::string_view reason) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 2, "refuse");
  pack_str(pk, "reason");
  pack_str(pk, reason);
  return internal::to_string(buf);
}

std::string encode_run(std::uint64_t batch, std::string_view fn,
                       const std::vector<std::string>& args) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 4, "run");
  pack_str(pk, "batch");
  pk.pack(batch);
  pack_str(pk, "fn");
  pack_str(pk, fn);
  pack_str(pk, "args");
  pk.pack_array(static_cast<std::uint32_t>(args.size()));
  for (const auto& a : args)
    buf.write(a.data(), a.size());
  return internal::to_string(buf);
}

std::string encode_node_result(std::uint64_t batch, const std::vector<outcome>& outcomes) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 3, "result");
  pack_str(pk, "batch");
  pk.pack(batch);
  pack_str(pk, "outcomes");
  pk.pack_array(static_cast<std::uint32_t>(outcomes.size()));
  for (const auto& o : outcomes) {
    if (o.ok()) {
      pk.pack_map(1);
      pack_str(pk, "data");
      buf.write(o.body.data(), o.body.size());
    } else {
      pk.pack_map(2);
      pack_str(pk, "code");
      pack_str(pk, to_string(o.code));
      pack_str(pk, "message");
      pack_str(pk, o.body);
    }
  }
  return internal::to_string(buf);
}

std::string encode_node_signal(std::string_view type) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin(pk, 1, type);
  return internal::to_string(buf);
}

} // namespace ferry::transport
