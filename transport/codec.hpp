#pragma once

#include "transport/msgpack_value.hpp"
#include "transport/type_names.hpp"
#include "transport/value.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace ferry::transport {

/// Limits applied to every msgpack document ferry unpacks from outside, so a
/// short message cannot claim a huge array or nest without bound.
struct unpack_limits {
  std::size_t max_depth = 64;
};

/// Unpacks one complete msgpack document. Returns nullopt and sets `*err` for
/// truncated data, trailing bytes, limits exceeded or invalid encodings. Array
/// and map lengths are bounded by the input's size (each element takes at least
/// one byte), so a length bomb fails instead of allocating.
[[nodiscard]] std::optional<msgpack::object_handle>
unpack(std::string_view data, std::string* err = nullptr,
       unpack_limits limits = {});

/// Unpacks the document starting at `off` in `data` and advances `off` past
/// it; trailing bytes are left for the caller. Same limits as unpack().
[[nodiscard]] std::optional<msgpack::object_handle>
unpack_at(std::string_view data, std::size_t& off, std::string* err = nullptr,
          unpack_limits limits = {});

/// Packs any msgpack-adaptable value into a byte string.
template <class T>
[[nodiscard]] std::string pack(const T& x) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, x);
  return std::string{buf.data(), buf.size()};
}

/// Converts a msgpack object to T with msgpack's strict conversion rules
/// (no float -> int, no int -> bool, range-checked integers). Returns false
/// instead of throwing.
template <class T>
[[nodiscard]] bool try_convert(const msgpack::object& o, T& out) noexcept {
  try {
    o.convert(out);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

/// Converts packed bytes to a value; nullopt when they are not one valid
/// msgpack document.
[[nodiscard]] std::optional<value> unpack_value(std::string_view data,
                                                std::string* err = nullptr);

/// The msgpack type name of an object, for error messages ("str", "array"...).
[[nodiscard]] std::string_view kind_name(const msgpack::object& o);

} // namespace ferry::transport

namespace ferry::transport {

/// Packs values as one msgpack array: a request's arguments or a result row.
template <class... Ts>
[[nodiscard]] std::string pack_array(const Ts&... xs) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk{buf};
  pk.pack_array(static_cast<std::uint32_t>(sizeof...(Ts)));
  (pk.pack(xs), ...);
  return std::string{buf.data(), buf.size()};
}

/// One request's packed argument array (or one result row), unpacked once and
/// read element by element with strict typing.
class packed_array {
public:
  /// Fails with `*err` set when `data` is not one msgpack array.
  [[nodiscard]] static std::optional<packed_array> open(std::string_view data,
                                                        std::string* err);

  [[nodiscard]] std::size_t size() const noexcept {
    return handle_.get().via.array.size;
  }

  [[nodiscard]] const msgpack::object& at(std::size_t i) const noexcept {
    return handle_.get().via.array.ptr[i];
  }

  /// Converts element i to T; false when its type or range does not fit.
  template <class T>
  [[nodiscard]] bool get(std::size_t i, T& out) const noexcept {
    return try_convert(at(i), out);
  }

private:
  explicit packed_array(msgpack::object_handle h) : handle_(std::move(h)) {}
  msgpack::object_handle handle_;
};

} // namespace ferry::transport

namespace ferry::transport {

/// Unpacks a packed array into a tuple of typed values: exactly one element
/// per tuple member, each converted strictly. Returns the reason on failure,
/// e.g. "takes 2 argument(s), got 3" or "argument 1 must be int64, got str".
template <class... Ts>
[[nodiscard]] std::optional<std::string> unpack_tuple(std::string_view packed,
                                                      std::tuple<Ts...>& out) {
  std::string err;
  auto arr = packed_array::open(packed, &err);
  if (!arr)
    return "arguments must be a msgpack array (" + err + ")";
  if (arr->size() != sizeof...(Ts))
    return "takes " + std::to_string(sizeof...(Ts)) + " argument(s), got "
           + std::to_string(arr->size());
  std::optional<std::string> failure;
  std::size_t i = 0;
  auto convert_one = [&](auto& slot) {
    using T = std::decay_t<decltype(slot)>;
    if (!failure && !arr->get(i, slot))
      failure = "argument " + std::to_string(i) + " must be " + type_name<T>()
                + ", got " + std::string{kind_name(arr->at(i))};
    ++i;
  };
  std::apply([&](auto&... slots) { (convert_one(slots), ...); }, out);
  return failure;
}

} // namespace ferry::transport
