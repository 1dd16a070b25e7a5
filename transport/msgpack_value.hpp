#pragma once

// msgpack-cxx adaptors for ferry::transport::value. Only transport/ headers
// include this; other modules go through transport/codec.hpp.

#include "transport/value.hpp"

#include <msgpack.hpp>

#include <cstring>

// msgpack-cxx 4.1.2 and 4.1.3 (Debian 12) pack a float or double that holds a
// whole number as an integer (msgpack-c PR #1018, reverted upstream in #1144):
// 2.0 goes out as the int 2. ferry keeps floats in the float family, so a
// `double` output reaches clients as a float, value{2.0} comes back a double,
// and 2.0 sent for an int64 argument is rejected like 2.5. Every ferry packer
// writes to an sbuffer (transport/codec.hpp), so these two members are
// specialised for that stream.
namespace msgpack {
namespace v1 {

template <>
inline packer<sbuffer>& packer<sbuffer>::pack_double(double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  char buf[9];
  buf[0] = static_cast<char>(0xcbu);
  _msgpack_store64(&buf[1], bits);
  append_buffer(buf, 9);
  return *this;
}

template <>
inline packer<sbuffer>& packer<sbuffer>::pack_float(float d) {
  std::uint32_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  char buf[5];
  buf[0] = static_cast<char>(0xcau);
  _msgpack_store32(&buf[1], bits);
  append_buffer(buf, 5);
  return *this;
}

} // namespace v1
} // namespace msgpack

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <>
struct convert<ferry::transport::value> {
  const msgpack::object& operator()(const msgpack::object& o,
                                    ferry::transport::value& v) const {
    using ferry::transport::value;
    switch (o.type) {
      case type::NIL:
        v = value{};
        break;
      case type::BOOLEAN:
        v = value{o.via.boolean};
        break;
      case type::POSITIVE_INTEGER:
        v = value{o.via.u64};
        break;
      case type::NEGATIVE_INTEGER:
        v = value{o.via.i64};
        break;
      case type::FLOAT32:
      case type::FLOAT64:
        v = value{o.via.f64};
        break;
      case type::STR:
        v = value{std::string{o.via.str.ptr, o.via.str.size}};
        break;
      case type::BIN: {
        auto p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
        v = value{ferry::transport::bytes{p, p + o.via.bin.size}};
        break;
      }
      case type::ARRAY: {
        value::array xs;
        xs.reserve(o.via.array.size);
        for (std::uint32_t i = 0; i < o.via.array.size; ++i)
          xs.push_back(o.via.array.ptr[i].as<value>());
        v = value{std::move(xs)};
        break;
      }
      case type::MAP: {
        value::map xs;
        xs.reserve(o.via.map.size);
        for (std::uint32_t i = 0; i < o.via.map.size; ++i)
          xs.emplace_back(o.via.map.ptr[i].key.as<value>(),
                          o.via.map.ptr[i].val.as<value>());
        v = value{std::move(xs)};
        break;
      }
      default:
        throw msgpack::type_error{}; // ext types are not part of ferry's model
    }
    return o;
  }
};

template <>
struct pack<ferry::transport::value> {
  template <class Stream>
  msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& pk,
                                      const ferry::transport::value& v) const {
    using ferry::transport::value;
    std::visit(
      [&pk](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          pk.pack_nil();
        } else if constexpr (std::is_same_v<T, value::map>) {
          pk.pack_map(static_cast<std::uint32_t>(x.size()));
          for (const auto& [k, val] : x) {
            pk.pack(k);
            pk.pack(val);
          }
        } else {
          pk.pack(x);
        }
      },
      v.data());
    return pk;
  }
};

} // namespace adaptor
} // MSGPACK_API_VERSION_NAMESPACE
} // namespace msgpack
