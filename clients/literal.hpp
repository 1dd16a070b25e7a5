#pragma once

// The JSON-like literals the `ferry` command line takes as call arguments.

#include "transport/value.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ferry::clients {

/// Parses text that is exactly one literal (whitespace around it allowed):
/// `null`, `true`, `false`; integers (int64, or uint64 above its range);
/// floats (`1.5`, `-2e3`); "strings" with JSON escapes (\" \\ \/ \b \f \n \r
/// \t \uXXXX, surrogate pairs included); b"hex" binary; [arrays] and
/// {maps} of literals (any literal may be a key). Nesting is limited to 64
/// levels. Fails with `*err` saying what and where.
[[nodiscard]] std::optional<transport::value> parse_literal(std::string_view text,
                                                            std::string* err);

/// One command-line argument: a literal when the text is one, otherwise the
/// text itself as a string (a bare word: `Adam`, `007`, `+5`). Text that
/// begins like a string, binary, array or map (`"`, `b"`, `[`, `{`) or
/// is a number out of range must be a valid literal; it fails with `*err`.
[[nodiscard]] std::optional<transport::value> parse_argument(std::string_view text,
                                                             std::string* err);

} // namespace ferry::clients
