#include "transport/protocol.hpp"

#include "transport/codec.hpp"
#include "transport/internal/map_walker.hpp"
#include "transport/internal/packing.hpp"

namespace ferry::transport {

namespace {

using internal::map_walker;
using internal::pack_str;
using internal::packer;

bool is_scalar(const msgpack::object& o) {
  return o.type != msgpack::type::ARRAY && o.type != msgpack::type::MAP
         && o.type != msgpack::type::EXT;
}

std::optional<request_type> parse_type(std::string_view name) {
  if (name == "call")
    return request_type::call;
  if (name == "cancel")
    return request_type::cancel;
  if (name == "info")
    return request_type::info;
  if (name == "ping")
    return request_type::ping;
  return std::nullopt;
}


/// Starts a message map of `n` pairs with its "type" and "id" (spliced raw).
void begin_message(packer& pk, msgpack::sbuffer& buf, std::uint32_t n,
                 std::string_view type, std::string_view id) {
  pk.pack_map(n);
  pack_str(pk, "type");
  pack_str(pk, type);
  pack_str(pk, "id");
  buf.write(id.data(), id.size());
}

/// A message of nothing but its type and id (ping, pong, cancel, info request).
std::string encode_bare(std::string_view type, std::string_view id) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 2, type, id);
  return internal::to_string(buf);
}

} // namespace

std::variant<client_request, request_error> decode_request(std::string_view body) {
  map_walker walker{body};
  client_request req;
  std::optional<std::string> type_name;
  bool has_id = false;
  bool has_fn = false;
  std::optional<request_error> field_error; // reported once the id is known
  auto bad = [&](errc code, std::string msg) {
    if (!field_error)
      field_error = request_error{nil_id, code, std::move(msg)};
  };
  std::string key;
  msgpack::object_handle val;
  std::string_view raw;
  while (walker.next(key, val, raw)) {
    const auto& o = val.get();
    if (key == "type") {
      if (o.type == msgpack::type::STR)
        type_name.emplace(o.via.str.ptr, o.via.str.size);
      else
        bad(errc::bad_request, "'type' must be a string");
    } else if (key == "id") {
      if (is_scalar(o)) {
        req.id.assign(raw);
        has_id = true;
      } else {
        bad(errc::bad_request, "'id' must be a scalar (nil, bool, number, string or binary)");
      }
    } else if (key == "fn") {
      if (o.type == msgpack::type::STR) {
        req.fn.assign(o.via.str.ptr, o.via.str.size);
        has_fn = true;
      } else {
        bad(errc::bad_request, "'fn' must be a string");
      }
    } else if (key == "args") {
      if (o.type == msgpack::type::ARRAY)
        req.args.assign(raw);
      else
        bad(errc::bad_args, "'args' must be an array");
    } else if (key == "deadline_ms") {
      if (o.type == msgpack::type::POSITIVE_INTEGER && o.via.u64 <= INT64_MAX)
        req.deadline_ms = static_cast<std::int64_t>(o.via.u64);
      else if (o.type != msgpack::type::NIL)
        bad(errc::bad_request, "'deadline_ms' must be a non-negative integer");
    } else if (key == "status") {
      if (o.type == msgpack::type::BOOLEAN)
        req.status = o.via.boolean;
      else if (o.type != msgpack::type::NIL)
        bad(errc::bad_request, "'status' must be a boolean");
    }
    // Unknown keys are ignored, so newer clients can add optional fields.
  }
  auto fail = [&](errc code, std::string msg) {
    return request_error{req.id, code, std::move(msg)};
  };
  if (!walker.error().empty())
    return fail(errc::bad_request, walker.error());
  if (!type_name)
    return fail(errc::bad_request, field_error ? field_error->message
                                               : "message has no 'type'");
  auto type = parse_type(*type_name);
  if (!type)
    return fail(errc::bad_request, "unknown message type '" + *type_name + "'");
  req.type = *type;
  if (field_error)
    return fail(field_error->code, field_error->message);
  if ((req.type == request_type::call || req.type == request_type::cancel) && !has_id)
    return fail(errc::bad_request, "'" + *type_name + "' needs an 'id'");
  if (req.type == request_type::call) {
    if (!has_fn)
      return fail(errc::bad_request, "'call' needs 'fn'");
    if (req.args.empty())
      req.args.assign("\x90", 1); // no arguments
  }
  return req;
}

std::string peek_id(std::string_view body) {
  map_walker walker{body};
  std::string key;
  msgpack::object_handle val;
  std::string_view raw;
  while (walker.next(key, val, raw))
    if (key == "id")
      return is_scalar(val.get()) ? std::string{raw} : nil_id;
  return nil_id;
}

std::string encode_result(std::string_view id, std::string_view data) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 3, "result", id);
  pack_str(pk, "data");
  buf.write(data.data(), data.size());
  return internal::to_string(buf);
}

std::string encode_error(std::string_view id, errc code, std::string_view message) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 4, "error", id);
  pack_str(pk, "code");
  pack_str(pk, to_string(code));
  pack_str(pk, "message");
  pack_str(pk, message);
  return internal::to_string(buf);
}

std::string encode_queued(std::string_view id, std::uint32_t rank,
                          std::uint32_t queue_size, std::int64_t eta_ms) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 6, "status", id);
  pack_str(pk, "stage");
  pack_str(pk, "queued");
  pack_str(pk, "rank");
  pk.pack(rank);
  pack_str(pk, "queue_size");
  pk.pack(queue_size);
  pack_str(pk, "eta_ms");
  if (eta_ms < 0)
    pk.pack_nil();
  else
    pk.pack(eta_ms);
  return internal::to_string(buf);
}

std::string encode_started(std::string_view id, std::uint32_t batch_size) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 4, "status", id);
  pack_str(pk, "stage");
  pack_str(pk, "started");
  pack_str(pk, "batch_size");
  pk.pack(batch_size);
  return internal::to_string(buf);
}

std::string encode_pong(std::string_view id) {
  return encode_bare("pong", id);
}

std::string encode_info(std::string_view id, std::string_view version,
                        const std::vector<function_info>& functions) {
  msgpack::sbuffer buf;
  packer pk{buf};
  begin_message(pk, buf, 4, "info", id);
  pack_str(pk, "version");
  pack_str(pk, version);
  pack_str(pk, "functions");
  pk.pack_array(static_cast<std::uint32_t>(functions.size()));
  for (const auto& f : functions) {
    internal::encode_spec(pk, f.spec, 2);
    pack_str(pk, "nodes");
    pk.pack_array(static_cast<std::uint32_t>(f.nodes.size()));
    std::uint32_t total = 0;
    for (const auto& n : f.nodes) {
      pk.pack_map(2);
      pack_str(pk, "node");
      pack_str(pk, n.node);
      pack_str(pk, "slots");
      pk.pack(n.slots);
      total += n.slots;
    }
    pack_str(pk, "slots");
    pk.pack(total);
  }
  return internal::to_string(buf);
}

std::string encode_call(std::string_view id, std::string_view fn,
                        std::string_view args, std::int64_t deadline_ms,
                        bool status) {
  msgpack::sbuffer buf;
  std::uint32_t n = 4 + (deadline_ms >= 0 ? 1 : 0) + (status ? 1 : 0);
  packer pk{buf};
  begin_message(pk, buf, n, "call", id);
  pack_str(pk, "fn");
  pack_str(pk, fn);
  pack_str(pk, "args");
  buf.write(args.data(), args.size());
  if (deadline_ms >= 0) {
    pack_str(pk, "deadline_ms");
    pk.pack(deadline_ms);
  }
  if (status) {
    pack_str(pk, "status");
    pk.pack(true);
  }
  return internal::to_string(buf);
}

std::string encode_cancel(std::string_view id) {
  return encode_bare("cancel", id);
}

std::string encode_info_request(std::string_view id) {
  return encode_bare("info", id);
}

std::string encode_ping(std::string_view id) {
  return encode_bare("ping", id);
}

std::optional<server_reply> decode_reply(std::string_view body, std::string* err) {
  map_walker walker{body};
  server_reply rep;
  std::string key;
  msgpack::object_handle val;
  std::string_view raw;
  while (walker.next(key, val, raw)) {
    const auto& o = val.get();
    if (key == "type")
      (void) try_convert(o, rep.type);
    else if (key == "id")
      rep.id.assign(raw);
    else if (key == "data")
      rep.data.assign(raw);
    else if (key == "code") {
      if (try_convert(o, rep.code_name))
        rep.code = errc_from_string(rep.code_name).value_or(errc::bad_request);
    } else if (key == "message")
      (void) try_convert(o, rep.message);
    else if (key == "stage")
      (void) try_convert(o, rep.stage);
    else if (key == "rank")
      (void) try_convert(o, rep.rank);
    else if (key == "queue_size")
      (void) try_convert(o, rep.queue_size);
    else if (key == "eta_ms") {
      if (o.type != msgpack::type::NIL)
        (void) try_convert(o, rep.eta_ms);
    } else if (key == "batch_size")
      (void) try_convert(o, rep.batch_size);
    else if (key == "version")
      (void) try_convert(o, rep.version);
    else if (key == "functions" && o.type == msgpack::type::ARRAY)
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
      {
        rep.functions.push_back(internal::decode_spec(o.via.array.ptr[i]));
        rep.nodes.push_back(internal::decode_capacity(o.via.array.ptr[i]));
      }
  }
  if (!walker.error().empty() || rep.type.empty()) {
    if (err)
      *err = walker.error().empty() ? "reply has no 'type'" : walker.error();
    return std::nullopt;
  }
  return rep;
}

} // namespace ferry::transport
