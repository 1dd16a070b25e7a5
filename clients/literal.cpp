#include "clients/literal.hpp"

#include <charconv>
#include <cstdint>
#include <system_error>

namespace ferry::clients {

using transport::value;

namespace {

constexpr int max_depth = 64;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

/// A recursive-descent parser over one text; the first error wins.
class parser {
public:
  explicit parser(std::string_view text) : text_(text) {}

  std::optional<value> parse_whole() {
    skip_space();
    auto v = parse_value(0);
    if (!v)
      return std::nullopt;
    skip_space();
    if (pos_ != text_.size())
      return fail("unexpected '" + std::string{text_[pos_]} + "' after the literal");
    return v;
  }

  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  /// True when the failure was a number that fits the grammar but not a type.
  [[nodiscard]] bool range_error() const noexcept { return range_error_; }

private:
  std::optional<value> fail(std::string what) {
    if (error_.empty())
      error_ = what + " at offset " + std::to_string(pos_);
    return std::nullopt;
  }

  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }

  bool take_word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w)
      return false;
    auto end = pos_ + w.size();
    if (end < text_.size()) { // "trueish" is not true
      auto c = text_[end];
      if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return false;
    }
    pos_ = end;
    return true;
  }

  std::optional<value> parse_value(int depth) {
    if (depth > max_depth)
      return fail("literal nests deeper than " + std::to_string(max_depth) + " levels");
    if (at_end())
      return fail("expected a literal");
    auto c = peek();
    if (c == '"') {
      std::string s;
      if (!parse_string(s))
        return std::nullopt;
      return value{std::move(s)};
    }
    if (c == 'b' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '"')
      return parse_bytes();
    if (c == '[')
      return parse_array(depth);
    if (c == '{')
      return parse_map(depth);
    if (c == '-' || is_digit(c))
      return parse_number();
    if (take_word("null"))
      return value{};
    if (take_word("true"))
      return value{true};
    if (take_word("false"))
      return value{false};
    return fail("expected a literal");
  }

  bool parse_string(std::string& out) {
    ++pos_; // the opening quote
    while (!at_end()) {
      auto c = text_[pos_++];
      if (c == '"')
        return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end())
        break;
      auto e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!parse_hex4(cp))
            return false;
          if (cp >= 0xd800 && cp <= 0xdbff) { // a high surrogate needs its pair
            std::uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") {
              fail("unpaired surrogate in \\u escape");
              return false;
            }
            pos_ += 2;
            if (!parse_hex4(low))
              return false;
            if (low < 0xdc00 || low > 0xdfff) {
              fail("unpaired surrogate in \\u escape");
              return false;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            fail("unpaired surrogate in \\u escape");
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail("unknown escape '\\" + std::string{e} + "'");
          return false;
      }
    }
    fail("unterminated string");
    return false;
  }

  bool parse_hex4(std::uint32_t& cp) {
    if (pos_ + 4 > text_.size()) {
      fail("\\u needs four hex digits");
      return false;
    }
    for (int i = 0; i < 4; ++i) {
      auto d = hex_digit(text_[pos_]);
      if (d < 0) {
        fail("\\u needs four hex digits");
        return false;
      }
      cp = cp * 16 + static_cast<std::uint32_t>(d);
      ++pos_;
    }
    return true;
  }

  std::optional<value> parse_bytes() {
    pos_ += 2; // b"
    transport::bytes out;
    while (!at_end() && peek() != '"') {
      auto hi = hex_digit(peek());
      auto lo = pos_ + 1 < text_.size() ? hex_digit(text_[pos_ + 1]) : -1;
      if (hi < 0 || lo < 0)
        return fail("binary literal needs pairs of hex digits");
      out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
      pos_ += 2;
    }
    if (at_end())
      return fail("unterminated binary literal");
    ++pos_;
    return value{std::move(out)};
  }

  std::optional<value> parse_array(int depth) {
    ++pos_; // [
    value::array xs;
    skip_space();
    if (peek() == ']') {
      ++pos_;
      return value{std::move(xs)};
    }
    for (;;) {
      skip_space();
      auto v = parse_value(depth + 1);
      if (!v)
        return std::nullopt;
      xs.push_back(std::move(*v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return value{std::move(xs)};
      }
      return fail(at_end() ? "unterminated array" : "expected ',' or ']'");
    }
  }

  std::optional<value> parse_map(int depth) {
    ++pos_; // {
    value::map xs;
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return value{std::move(xs)};
    }
    for (;;) {
      skip_space();
      auto k = parse_value(depth + 1);
      if (!k)
        return std::nullopt;
      skip_space();
      if (peek() != ':')
        return fail(at_end() ? "unterminated map" : "expected ':'");
      ++pos_;
      skip_space();
      auto v = parse_value(depth + 1);
      if (!v)
        return std::nullopt;
      xs.emplace_back(std::move(*k), std::move(*v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return value{std::move(xs)};
      }
      return fail(at_end() ? "unterminated map" : "expected ',' or '}'");
    }
  }

  /// JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  std::optional<value> parse_number() {
    auto start = pos_;
    bool integral = true;
    if (peek() == '-')
      ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (is_digit(peek())) {
      while (is_digit(peek()))
        ++pos_;
    } else {
      return fail("expected a digit");
    }
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!is_digit(peek()))
        return fail("expected a digit after '.'");
      while (is_digit(peek()))
        ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      if (!is_digit(peek()))
        return fail("expected a digit in the exponent");
      while (is_digit(peek()))
        ++pos_;
    }
    auto first = text_.data() + start;
    auto last = text_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      auto r = std::from_chars(first, last, i);
      if (r.ec == std::errc{} && r.ptr == last)
        return value{i};
      std::uint64_t u = 0;
      r = std::from_chars(first, last, u);
      if (r.ec == std::errc{} && r.ptr == last)
        return value{u};
    } else {
      double d = 0;
      auto r = std::from_chars(first, last, d);
      if (r.ec == std::errc{} && r.ptr == last)
        return value{d};
    }
    range_error_ = true;
    pos_ = start;
    return fail("number " + std::string{first, last} + " is out of range");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
  bool range_error_ = false;
};

} // namespace

std::optional<value> parse_literal(std::string_view text, std::string* err) {
  parser p{text};
  auto v = p.parse_whole();
  if (!v && err)
    *err = p.error();
  return v;
}

std::optional<value> parse_argument(std::string_view text, std::string* err) {
  parser p{text};
  if (auto v = p.parse_whole())
    return v;
  auto first = text.find_first_not_of(" \t\r\n");
  auto structured = first != std::string_view::npos
                    && (text[first] == '"' || text[first] == '[' || text[first] == '{'
                        || text.substr(first, 2) == "b\"");
  if (structured || p.range_error()) {
    if (err)
      *err = p.error();
    return std::nullopt;
  }
  return value{std::string{text}};
}

} // namespace ferry::clients
