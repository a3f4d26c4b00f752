// A small strict JSON reader (RFC 8259) and compact writer, for safetensors headers.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "nabla/core/error.hpp"

namespace nabla::io::detail {

// Text that is not valid JSON, or a string that cannot be written as JSON.
// offset() is the byte (of the text, or of the string) where the problem lies.
class JsonError : public Error {
 public:
  JsonError(std::size_t offset, const std::string& problem) : Error(problem), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

// An object that names one key twice (RFC 8259 leaves the meaning open, so
// the reader refuses it). depth() is 1 for the outermost object.
class JsonDuplicateKey : public JsonError {
 public:
  JsonDuplicateKey(std::size_t offset, std::string key, int depth)
      : JsonError(offset, nabla::detail::message("the key '", key, "' appears twice in one object")),
        key_(std::move(key)),
        depth_(depth) {}
  const std::string& key() const { return key_; }
  int depth() const { return depth_; }

 private:
  std::string key_;
  int depth_;
};

struct JsonValue;
struct JsonMember;
using JsonArray = std::vector<JsonValue>;
using JsonObject = std::vector<JsonMember>;  // members in document order

// A number that is not a non-negative integer (negative, with a fraction or an
// exponent): its nearest double and its text as written (which the writer
// reproduces, so messages quote what the file says).
struct JsonReal {
  double value = 0;
  std::string text;
};

// One JSON value. Non-negative integers are kept exactly as uint64.
struct JsonValue {
  std::variant<std::nullptr_t, bool, std::uint64_t, JsonReal, std::string, JsonArray, JsonObject> data;

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(data); }
  const bool* as_bool() const { return std::get_if<bool>(&data); }
  const std::uint64_t* as_unsigned() const { return std::get_if<std::uint64_t>(&data); }
  const JsonReal* as_real() const { return std::get_if<JsonReal>(&data); }
  const std::string* as_string() const { return std::get_if<std::string>(&data); }
  const JsonArray* as_array() const { return std::get_if<JsonArray>(&data); }
  const JsonObject* as_object() const { return std::get_if<JsonObject>(&data); }

  // The member named `key`; nullptr if there is none or this is not an object.
  const JsonValue* find(std::string_view key) const;
};

// One member of an object. (A struct rather than std::pair: the pair would
// need JsonValue complete inside JsonValue's own definition.)
struct JsonMember {
  std::string key;
  JsonValue value;
};

inline const JsonValue* JsonValue::find(std::string_view key) const {
  if (const JsonObject* object = as_object()) {
    for (const JsonMember& member : *object) {
      if (member.key == key) return &member.value;
    }
  }
  return nullptr;
}

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) starting at p[0], or 0 if there is none.
inline std::size_t utf8_sequence_length(const unsigned char* p, std::size_t available) {
  const unsigned lead = p[0];
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (available < length || p[1] < low || p[1] > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
  }
  return length;
}

inline void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// "'x'" for a printable byte, "byte 0x1F" otherwise: safe to put in a message.
inline std::string describe_byte(unsigned char c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  if (c >= 0x21 && c < 0x7F) return std::string{'\'', static_cast<char>(c), '\''};
  return std::string("byte 0x") + hex[c >> 4] + hex[c & 0xF];
}

// Recursive descent over the whole text: one value, optional whitespace
// around it, nothing else. Nesting is capped so that hostile input ("[[[[...")
// cannot exhaust the stack, and so is the number of values, so that a 100 MB
// header of "[0,0,..." cannot take gigabytes (a value takes 48 bytes; a real
// header has about 8 values per tensor).
class JsonParser {
 public:
  static constexpr int max_depth = 64;
  static constexpr std::size_t max_values = std::size_t{1} << 22;

  explicit JsonParser(std::string_view text) : text_(text) {}

  JsonValue parse() {
    skip_whitespace();
    JsonValue value = parse_value(1);
    skip_whitespace();
    if (pos_ != text_.size()) fail(describe_byte(byte()) + " after the end of the JSON value");
    return value;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t values_ = 0;

  [[noreturn]] void fail(const std::string& problem) const { throw JsonError(pos_, problem); }
  [[noreturn]] void fail_at(std::size_t offset, const std::string& problem) const { throw JsonError(offset, problem); }

  bool at_end() const { return pos_ >= text_.size(); }
  unsigned char byte() const { return static_cast<unsigned char>(text_[pos_]); }

  // "unexpected end of the text" or "unexpected 'x'", then what was expected.
  [[noreturn]] void unexpected(const char* expected) const {
    fail(nabla::detail::message(at_end() ? std::string("unexpected end of the text") : "unexpected " + describe_byte(byte()),
                                ", expected ", expected));
  }

  void skip_whitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  JsonValue parse_value(int depth) {
    if (at_end()) unexpected("a value");
    if (++values_ > max_values) fail(nabla::detail::message("more than ", max_values, " values"));
    switch (text_[pos_]) {
      case '{': return parse_object(depth);
      case '[': return parse_array(depth);
      case '"': return JsonValue{parse_string()};
      case 't': parse_literal("true"); return JsonValue{true};
      case 'f': parse_literal("false"); return JsonValue{false};
      case 'n': parse_literal("null"); return JsonValue{nullptr};
      default: break;
    }
    if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) return parse_number();
    unexpected("a value");
  }

  void parse_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail(nabla::detail::message("invalid literal, expected '", word, "'"));
    pos_ += word.size();
  }

  void enter(int depth) const {
    if (depth > max_depth) fail(nabla::detail::message("nesting deeper than ", max_depth, " levels"));
  }

  JsonValue parse_array(int depth) {
    enter(depth);
    ++pos_;  // '['
    JsonArray items;
    skip_whitespace();
    if (!at_end() && text_[pos_] == ']') {
      ++pos_;
      return JsonValue{std::move(items)};
    }
    while (true) {
      skip_whitespace();
      items.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (at_end() || (text_[pos_] != ',' && text_[pos_] != ']')) unexpected("',' or ']'");
      if (text_[pos_++] == ']') return JsonValue{std::move(items)};
    }
  }

  JsonValue parse_object(int depth) {
    enter(depth);
    ++pos_;  // '{'
    JsonObject members;
    std::vector<std::size_t> key_offsets;
    skip_whitespace();
    if (!at_end() && text_[pos_] == '}') {
      ++pos_;
      return JsonValue{std::move(members)};
    }
    while (true) {
      skip_whitespace();
      if (at_end() || text_[pos_] != '"') unexpected("a string key");
      key_offsets.push_back(pos_);
      std::string key = parse_string();
      skip_whitespace();
      if (at_end() || text_[pos_] != ':') unexpected("':' after an object key");
      ++pos_;
      skip_whitespace();
      JsonValue value = parse_value(depth + 1);
      members.push_back(JsonMember{std::move(key), std::move(value)});
      skip_whitespace();
      if (at_end() || (text_[pos_] != ',' && text_[pos_] != '}')) unexpected("',' or '}'");
      if (text_[pos_++] == '}') break;
    }
    check_unique_keys(members, key_offsets, depth);
    return JsonValue{std::move(members)};
  }

  // Reports the earliest repeated key. Large objects (a header names every
  // tensor) are checked by sorting, small ones pairwise without allocating.
  static void check_unique_keys(const JsonObject& members, const std::vector<std::size_t>& key_offsets, int depth) {
    const std::size_t n = members.size();
    std::size_t repeat = n;
    if (n <= 16) {
      for (std::size_t j = 1; j < n && repeat == n; ++j) {
        for (std::size_t i = 0; i < j; ++i) {
          if (members[i].key == members[j].key) {
            repeat = j;
            break;
          }
        }
      }
    } else {
      std::vector<std::size_t> order(n);
      for (std::size_t i = 0; i < n; ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return members[a].key != members[b].key ? members[a].key < members[b].key : a < b;
      });
      for (std::size_t k = 1; k < n; ++k) {
        // The first repeat of a key follows its first occurrence in `order`.
        if (members[order[k]].key == members[order[k - 1]].key &&
            (k < 2 || members[order[k - 1]].key != members[order[k - 2]].key)) {
          repeat = std::min(repeat, order[k]);
        }
      }
    }
    if (repeat != n) throw JsonDuplicateKey(key_offsets[repeat], members[repeat].key, depth);
  }

  unsigned read_hex4() {
    if (text_.size() - pos_ < 4) fail("expected four hex digits after \\u");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_ + static_cast<std::size_t>(i)];
      unsigned digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("expected four hex digits after \\u");
      }
      value = value << 4 | digit;
    }
    pos_ += 4;
    return value;
  }

  void parse_escape(std::string& out) {
    const std::size_t start = pos_;
    ++pos_;  // '\'
    if (at_end()) fail("unexpected end of the text in an escape sequence");
    const char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail_at(start, "invalid escape sequence \\" + std::string(1, c));
    }
    std::uint32_t code_point = read_hex4();
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) fail_at(start, "a low surrogate \\u escape without a high one");
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      // UTF-16 surrogate pair: \uD83D\uDE00 is U+1F600.
      if (text_.substr(pos_, 2) != "\\u") fail_at(start, "a high surrogate \\u escape not followed by a low one");
      pos_ += 2;
      const std::uint32_t low = read_hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail_at(start, "a high surrogate \\u escape not followed by a low one");
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code_point);
  }

  std::string parse_string() {
    ++pos_;  // '"'
    std::string out;
    while (true) {
      const std::size_t run = pos_;
      while (pos_ < text_.size()) {
        const unsigned char c = byte();
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        ++pos_;
      }
      out.append(text_.data() + run, pos_ - run);
      if (at_end()) fail("unexpected end of the text in a string");
      const unsigned char c = byte();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        parse_escape(out);
      } else if (c < 0x20) {
        fail("unescaped control character (" + describe_byte(c) + ") in a string");
      } else {
        const std::size_t length =
            utf8_sequence_length(reinterpret_cast<const unsigned char*>(text_.data()) + pos_, text_.size() - pos_);
        if (length == 0) fail("invalid UTF-8 (" + describe_byte(c) + ") in a string");
        out.append(text_.data() + pos_, length);
        pos_ += length;
      }
    }
  }

  std::size_t skip_digits() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ - start;
  }

  JsonValue parse_number() {
    const std::size_t start = pos_;
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    const std::size_t int_start = pos_;
    const std::size_t int_digits = skip_digits();
    if (int_digits == 0) unexpected("a digit");
    if (int_digits > 1 && text_[int_start] == '0') fail_at(int_start, "a number with a leading zero");
    std::size_t frac_digits = 0;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      frac_digits = skip_digits();
      if (frac_digits == 0) unexpected("a digit after '.'");
    }
    bool has_exponent = false;
    std::int64_t exponent = 0;  // clamped: only its sign and rough size matter
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      has_exponent = true;
      ++pos_;
      bool exponent_negative = false;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) exponent_negative = text_[pos_++] == '-';
      const std::size_t exponent_start = pos_;
      if (skip_digits() == 0) unexpected("a digit in the exponent");
      for (std::size_t i = exponent_start; i < pos_; ++i) exponent = std::min<std::int64_t>(exponent * 10 + (text_[i] - '0'), 1'000'000);
      if (exponent_negative) exponent = -exponent;
    }
    const std::string_view text = text_.substr(start, pos_ - start);

    if (!negative && frac_digits == 0 && !has_exponent) {
      std::uint64_t value = 0;
      for (const char c : text) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
          fail_at(start, nabla::detail::message("the integer ", text, " does not fit in 64 bits"));
        }
        value = value * 10 + digit;
      }
      return JsonValue{value};
    }

    JsonReal real{0.0, std::string(text)};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), real.value);
    if (error == std::errc::result_out_of_range) {
      // Too large or too small for a double. The number is 0.d1d2... x 10^order;
      // the smallest subnormal is ~4.9e-324, so a negative order is an underflow.
      std::int64_t order = exponent;
      std::size_t first = int_start;  // first significant digit
      const std::size_t digits_end = int_start + int_digits + (frac_digits > 0 ? 1 + frac_digits : 0);
      if (int_digits == 1 && text_[int_start] == '0') {
        first = int_start + 2;
        while (first < digits_end && text_[first] == '0') {
          ++first;
          --order;
        }
      } else {
        order += static_cast<std::int64_t>(int_digits);
      }
      if (order > 0) fail_at(start, nabla::detail::message("the number ", text, " is too large for a double"));
      real.value = negative ? -0.0 : 0.0;
    } else if (error != std::errc() || end != text.data() + text.size()) {
      fail_at(start, nabla::detail::message("the number ", text, " cannot be read"));
    }
    return JsonValue{std::move(real)};
  }
};

// Parses a whole JSON text; throws JsonError (JsonDuplicateKey for a repeated key).
inline JsonValue parse_json(std::string_view text) { return JsonParser(text).parse(); }

// `s` as a JSON string: quotes, \" \\ \b \f \n \r \t, other control characters
// as \u00xx, everything else as is. Throws JsonError (offset = index in `s`)
// if `s` is not valid UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i);
      if (length == 0) throw JsonError(i, nabla::detail::message("invalid UTF-8 ", describe_byte(c), " at index ", i));
      out.append(s.data() + i, length);
      i += length;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

// Compact JSON (no whitespace, members in order), as nlohmann's dump() wrote.
inline void append_json(std::string& out, const JsonValue& value) {
  if (value.is_null()) {
    out += "null";
  } else if (const bool* b = value.as_bool()) {
    out += *b ? "true" : "false";
  } else if (const std::uint64_t* u = value.as_unsigned()) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, *u);
    out.append(buffer, result.ptr);
  } else if (const JsonReal* real = value.as_real()) {
    if (!real->text.empty()) {
      out += real->text;
    } else {
      if (!(real->value - real->value == 0)) throw JsonError(0, "a NaN or infinite number cannot be written as JSON");
      char buffer[32];
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, real->value);
      out.append(buffer, result.ptr);
    }
  } else if (const std::string* s = value.as_string()) {
    append_json_string(out, *s);
  } else if (const JsonArray* array = value.as_array()) {
    out += '[';
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (i > 0) out += ',';
      append_json(out, (*array)[i]);
    }
    out += ']';
  } else {
    const JsonObject& object = *value.as_object();
    out += '{';
    for (std::size_t i = 0; i < object.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, object[i].key);
      out += ':';
      append_json(out, object[i].value);
    }
    out += '}';
  }
}

inline std::string dump_json(const JsonValue& value) {
  std::string out;
  append_json(out, value);
  return out;
}

}  // namespace nabla::io::detail
