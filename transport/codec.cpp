#include "transport/codec.hpp"

namespace ferry::transport {

std::optional<msgpack::object_handle>
unpack_at(std::string_view data, std::size_t& off, std::string* err,
          unpack_limits limits) {
  auto fail = [err](const char* what) -> std::optional<msgpack::object_handle> {
    if (err)
      *err = what;
    return std::nullopt;
  };
  if (off >= data.size())
    return fail(data.empty() ? "empty message" : "truncated msgpack document");
  // Every element takes at least one byte, so no honest document claims more
  // elements than it has bytes.
  auto n = data.size() - off;
  msgpack::unpack_limit limit{n, n / 2 + 1, n, n, n, limits.max_depth};
  try {
    return msgpack::unpack(data.data(), data.size(), off, nullptr, nullptr, limit);
  } catch (const msgpack::insufficient_bytes&) {
    return fail("truncated msgpack document");
  } catch (const msgpack::depth_size_overflow&) {
    return fail("msgpack document nests too deeply");
  } catch (const msgpack::size_overflow&) {
    return fail("msgpack document claims more elements than it holds");
  } catch (const std::exception&) {
    return fail("invalid msgpack document");
  }
}

std::optional<msgpack::object_handle>
unpack(std::string_view data, std::string* err, unpack_limits limits) {
  std::size_t off = 0;
  auto oh = unpack_at(data, off, err, limits);
  if (oh && off != data.size()) {
    if (err)
      *err = "trailing bytes after the msgpack document";
    return std::nullopt;
  }
  return oh;
}

std::optional<value> unpack_value(std::string_view data, std::string* err) {
  auto oh = unpack(data, err);
  if (!oh)
    return std::nullopt;
  value v;
  if (!try_convert(oh->get(), v)) {
    if (err)
      *err = "unsupported msgpack type (ext)";
    return std::nullopt;
  }
  return v;
}

std::string_view kind_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "str";
    case msgpack::type::BIN: return "bin";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    default: return "ext";
  }
}

} // namespace ferry::transport

namespace ferry::transport {

std::optional<packed_array> packed_array::open(std::string_view data,
                                               std::string* err) {
  auto oh = unpack(data, err);
  if (!oh)
    return std::nullopt;
  if (oh->get().type != msgpack::type::ARRAY) {
    if (err)
      *err = "expected an array, got " + std::string{kind_name(oh->get())};
    return std::nullopt;
  }
  return packed_array{std::move(*oh)};
}

} // namespace ferry::transport
