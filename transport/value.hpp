#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ferry::transport {

/// Binary bytes (msgpack `bin`). A `std::vector<std::uint8_t>` argument or
/// result is always binary, never a list of small integers.
using bytes = std::vector<std::uint8_t>;

/// A dynamically typed msgpack value: nil, bool, signed or unsigned integer,
/// float, string, binary, array or map. Used where a function takes "anything"
/// and by callers that do their own typing. Requests and results travel through
/// the runtime packed (as msgpack bytes); a value exists only where someone
/// looks inside. Non-negative integers decode as int64 when they fit.
class value {
public:
  using array = std::vector<value>;
  /// msgpack maps keep their order and may have keys of any type.
  using map = std::vector<std::pair<value, value>>;
  using storage = std::variant<std::monostate, bool, std::int64_t, std::uint64_t,
                               double, std::string, bytes, array, map>;

  value() = default;
  value(std::nullptr_t) {}
  value(bool x) : data_(x) {}
  template <class T, class = std::enable_if_t<std::is_integral_v<T>
                                              && !std::is_same_v<T, bool>>>
  value(T x) {
    if constexpr (std::is_signed_v<T>)
      data_ = static_cast<std::int64_t>(x);
    else if (static_cast<std::uint64_t>(x) <= INT64_MAX)
      data_ = static_cast<std::int64_t>(x);
    else
      data_ = static_cast<std::uint64_t>(x);
  }
  value(double x) : data_(x) {}
  value(const char* x) : data_(std::string{x}) {}
  value(std::string x) : data_(std::move(x)) {}
  value(bytes x) : data_(std::move(x)) {}
  value(array x) : data_(std::move(x)) {}
  value(map x) : data_(std::move(x)) {}

  [[nodiscard]] bool is_nil() const noexcept {
    return std::holds_alternative<std::monostate>(data_);
  }

  /// Pointer to the held alternative, or nullptr when it holds another type.
  template <class T>
  [[nodiscard]] const T* get_if() const noexcept {
    return std::get_if<T>(&data_);
  }

  [[nodiscard]] const storage& data() const noexcept { return data_; }
  [[nodiscard]] storage& data() noexcept { return data_; }

  friend bool operator==(const value& a, const value& b) {
    return a.data_ == b.data_;
  }
  friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
  storage data_;
};

/// A short human-readable rendering, JSON-like (binary as b"<hex>").
[[nodiscard]] std::string to_string(const value& x);

} // namespace ferry::transport
