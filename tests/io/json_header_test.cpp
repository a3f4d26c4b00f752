// The safetensors header's JSON reader and writer: values, every rejection
// with its offset, the depth limit, duplicate keys, escapes, agreement with
// nlohmann on what is valid JSON, and byte-identical output for Python's files.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "nabla/core/random.hpp"
#include "nabla/io/json_header.hpp"
#include "nabla/io/safetensors.hpp"

using nabla::io::detail::dump_json;
using nabla::io::detail::JsonArray;
using nabla::io::detail::JsonDuplicateKey;
using nabla::io::detail::JsonError;
using nabla::io::detail::JsonMember;
using nabla::io::detail::JsonObject;
using nabla::io::detail::JsonReal;
using nabla::io::detail::JsonValue;
using nabla::io::detail::parse_json;

namespace {

// Parsing `text` fails at byte `offset` with a message containing `problem`.
void check_json_rejects(const std::string& text, std::size_t offset, const std::string& problem) {
  INFO("text: " << text);
  try {
    (void)parse_json(text);
    FAIL("accepted");
  } catch (const JsonError& e) {
    CHECK(e.offset() == offset);
    CHECK_THAT(e.what(), Catch::Contains(problem));
  }
}

std::string json_string_value(const std::string& text) {
  const JsonValue v = parse_json(text);
  REQUIRE(v.as_string() != nullptr);
  return *v.as_string();
}

// The duplicate-key error for `text`, or a failed check.
JsonDuplicateKey json_duplicate(const std::string& text) {
  try {
    (void)parse_json(text);
  } catch (const JsonDuplicateKey& e) {
    return e;
  }
  FAIL("no duplicate reported for " << text);
  throw std::logic_error("unreachable");
}

// 8-byte little-endian length, then `header`, then `data`.
std::string json_test_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

// Whether our value equals nlohmann's reading of the same text (numbers by
// value, objects in document order).
bool json_same_as_nlohmann(const JsonValue& ours, const nlohmann::ordered_json& theirs) {
  if (ours.is_null()) return theirs.is_null();
  if (const bool* b = ours.as_bool()) return theirs.is_boolean() && theirs.get<bool>() == *b;
  if (const std::uint64_t* u = ours.as_unsigned()) return theirs.is_number_unsigned() && theirs.get<std::uint64_t>() == *u;
  if (const JsonReal* r = ours.as_real()) {
    return theirs.is_number() && !theirs.is_number_unsigned() && theirs.get<double>() == r->value;
  }
  if (const std::string* s = ours.as_string()) return theirs.is_string() && theirs.get<std::string>() == *s;
  if (const JsonArray* a = ours.as_array()) {
    if (!theirs.is_array() || theirs.size() != a->size()) return false;
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (!json_same_as_nlohmann((*a)[i], theirs[i])) return false;
    }
    return true;
  }
  const JsonObject& o = *ours.as_object();
  if (!theirs.is_object() || theirs.size() != o.size()) return false;
  std::size_t i = 0;
  for (const auto& item : theirs.items()) {
    if (item.key() != o[i].key || !json_same_as_nlohmann(o[i].value, item.value())) return false;
    ++i;
  }
  return true;
}

// Parses `text` with both readers: they must agree on validity and value.
// Where they may differ by design (a repeated key, an integer above 2^64 - 1,
// a byte-order mark, bytes after a NUL), ours refuses and nlohmann accepts.
void check_json_agrees_with_nlohmann(const std::string& text) {
  const bool theirs_ok = nlohmann::ordered_json::accept(text);
  bool ours_ok = true;
  JsonValue ours;
  try {
    ours = parse_json(text);
  } catch (const JsonDuplicateKey&) {
    if (theirs_ok) return;
    ours_ok = false;
  } catch (const JsonError& e) {
    if (theirs_ok && std::string(e.what()).find("does not fit in 64 bits") != std::string::npos) return;
    if (theirs_ok && text.rfind("\xEF\xBB\xBF", 0) == 0) return;
    // nlohmann stops reading at a NUL byte: "{}\0junk" is valid to it.
    if (theirs_ok && std::string(e.what()).find("byte 0x00 after the end") != std::string::npos) return;
    ours_ok = false;
  }
  // Assert only on a difference: this runs for >100,000 texts.
  if (ours_ok != theirs_ok || (ours_ok && !json_same_as_nlohmann(ours, nlohmann::ordered_json::parse(text)))) {
    INFO("text (" << text.size() << " bytes): " << text);
    CHECK(ours_ok == theirs_ok);
    if (ours_ok && theirs_ok) CHECK(json_same_as_nlohmann(ours, nlohmann::ordered_json::parse(text)));
  }
}

}  // namespace

TEST_CASE("json_header reads every kind of value", "[io][json]") {
  const JsonValue v = parse_json(
      " {\"n\": null, \"t\": true, \"f\": false, \"i\": 42, \"s\": \"x\",\n\t\"a\": [1, [], {}], \"o\": {\"z\": 0, \"y\": 1}}\r\n");
  const JsonObject* o = v.as_object();
  REQUIRE(o != nullptr);
  REQUIRE(o->size() == 7);
  // Members keep document order.
  const std::vector<std::string> keys{"n", "t", "f", "i", "s", "a", "o"};
  for (std::size_t i = 0; i < keys.size(); ++i) CHECK((*o)[i].key == keys[i]);
  CHECK(v.find("n")->is_null());
  CHECK(*v.find("t")->as_bool() == true);
  CHECK(*v.find("f")->as_bool() == false);
  CHECK(*v.find("i")->as_unsigned() == 42);
  CHECK(*v.find("s")->as_string() == "x");
  const JsonArray& a = *v.find("a")->as_array();
  REQUIRE(a.size() == 3);
  CHECK(*a[0].as_unsigned() == 1);
  CHECK(a[1].as_array()->empty());
  CHECK(a[2].as_object()->empty());
  CHECK((*v.find("o")->as_object())[0].key == "z");
  CHECK(v.find("missing") == nullptr);
  CHECK(a[0].find("x") == nullptr);  // not an object
  CHECK(a[0].as_string() == nullptr);
  CHECK(parse_json("7").as_unsigned() != nullptr);  // any value at the top
}

TEST_CASE("json_header keeps non-negative integers exact and flags every other number", "[io][json]") {
  CHECK(*parse_json("0").as_unsigned() == 0);
  CHECK(*parse_json("9007199254740993").as_unsigned() == 9007199254740993ull);  // not a double
  CHECK(*parse_json("18446744073709551615").as_unsigned() == UINT64_MAX);
  check_json_rejects("18446744073709551616", 0, "the integer 18446744073709551616 does not fit in 64 bits");
  check_json_rejects("[1, 99999999999999999999999]", 4, "does not fit in 64 bits");

  struct Real {
    const char* text;
    double value;
  };
  for (const Real& r : {Real{"-2", -2.0}, Real{"-0", 0.0}, Real{"2.0", 2.0}, Real{"1e5", 1e5}, Real{"1E+2", 100.0},
                        Real{"2.5e-3", 2.5e-3}, Real{"-18446744073709551616", -18446744073709551616.0},
                        Real{"1e-400", 0.0}, Real{"0.0000e-400", 0.0}, Real{"1.7976931348623157e308", 1.7976931348623157e308}}) {
    INFO(r.text);
    const JsonValue v = parse_json(r.text);
    REQUIRE(v.as_real() != nullptr);
    CHECK(v.as_unsigned() == nullptr);
    CHECK(v.as_real()->value == r.value);
    CHECK(v.as_real()->text == r.text);
    CHECK(dump_json(v) == r.text);  // messages quote the number as written
  }
  CHECK(std::signbit(parse_json("-1e-999").as_real()->value));
  check_json_rejects("[1e400]", 1, "the number 1e400 is too large for a double");
  check_json_rejects("-123.5e999", 0, "too large for a double");
  check_json_rejects("1.7976931348623159e308", 0, "too large for a double");
}

TEST_CASE("json_header decodes every string escape to UTF-8", "[io][json]") {
  CHECK(json_string_value(R"("a\"b\\c\/d\be\ff\ng\rh\ti")") == "a\"b\\c/d\be\ff\ng\rh\ti");
  CHECK(json_string_value(R"("\u0041\u00e9\u00E9\u20ac")") == "A\xC3\xA9\xC3\xA9\xE2\x82\xAC");
  CHECK(json_string_value(R"("\ud83d\ude00")") == "\xF0\x9F\x98\x80");  // U+1F600 from a surrogate pair
  CHECK(json_string_value(R"("\uDBFF\uDFFF")") == "\xF4\x8F\xBF\xBF");  // U+10FFFF
  CHECK(json_string_value(R"("\u0000")") == std::string(1, '\0'));
  CHECK(json_string_value("\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\x7F\"") == "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\x7F");
  CHECK(json_string_value(R"("")").empty());
}

TEST_CASE("json_header refuses what RFC 8259 refuses, at the right offset", "[io][json][errors]") {
  struct Bad {
    std::string text;
    std::size_t offset;
    const char* problem;
  };
  const Bad cases[] = {
      {"", 0, "unexpected end of the text, expected a value"},
      {"   ", 3, "unexpected end of the text, expected a value"},
      {"{", 1, "expected a string key"},
      {"{\"a\"", 4, "expected ':' after an object key"},
      {"{\"a\" 1}", 5, "unexpected '1', expected ':' after an object key"},
      {"{\"a\":", 5, "expected a value"},
      {"{\"a\":1", 6, "unexpected end of the text, expected ',' or '}'"},
      {"{\"a\":1,}", 7, "unexpected '}', expected a string key"},
      {"{1:2}", 1, "expected a string key"},
      {"{'a':1}", 1, "unexpected ''', expected a string key"},
      {"[1,]", 3, "unexpected ']', expected a value"},
      {"[1 2]", 3, "expected ',' or ']'"},
      {"[", 1, "expected a value"},
      {"]", 0, "unexpected ']', expected a value"},
      {"01", 0, "a number with a leading zero"},
      {"[-01]", 2, "a number with a leading zero"},
      {"1.", 2, "expected a digit after '.'"},
      {"1.e5", 2, "expected a digit after '.'"},
      {".5", 0, "expected a value"},
      {"1e", 2, "expected a digit in the exponent"},
      {"1e+", 3, "expected a digit in the exponent"},
      {"+1", 0, "unexpected '+'"},
      {"-", 1, "expected a digit"},
      {"-a", 1, "unexpected 'a', expected a digit"},
      {"0x10", 1, "'x' after the end of the JSON value"},
      {"NaN", 0, "unexpected 'N'"},
      {"-Infinity", 1, "expected a digit"},
      {"tru", 0, "invalid literal, expected 'true'"},
      {"[nul]", 1, "invalid literal, expected 'null'"},
      {"fals", 0, "invalid literal, expected 'false'"},
      {"True", 0, "unexpected 'T'"},
      {"{} x", 3, "'x' after the end of the JSON value"},
      {"{}{}", 2, "'{' after the end of the JSON value"},
      {"1 2", 2, "'2' after the end"},
      {std::string("{}\0\0", 4), 2, "byte 0x00 after the end of the JSON value"},  // NUL padding
      {"\f{}", 0, "unexpected byte 0x0C"},  // not JSON whitespace
      {std::string("[\0]", 3), 1, "unexpected byte 0x00"},
      {"\xEF\xBB\xBF{}", 0, "unexpected byte 0xEF"},  // no byte-order mark
      {"\"abc", 4, "unexpected end of the text in a string"},
      {"\"a\tb\"", 2, "unescaped control character (byte 0x09) in a string"},
      {"\"a\nb\"", 2, "unescaped control character (byte 0x0A)"},
      {std::string("\"a\0\"", 4), 2, "unescaped control character (byte 0x00)"},
      {"\"\\x\"", 1, "invalid escape sequence \\x"},
      {"\"\\", 2, "unexpected end of the text in an escape sequence"},
      {"\"\\u12\"", 3, "expected four hex digits after \\u"},
      {"\"\\u12G4\"", 3, "expected four hex digits after \\u"},
      {"\"ab\\ud800\"", 3, "a high surrogate \\u escape not followed by a low one"},
      {"\"\\ud800\\u0041\"", 1, "a high surrogate \\u escape not followed by a low one"},
      {"\"\\ud800\\ud800\"", 1, "not followed by a low one"},
      {"\"\\udc00\\ud800\"", 1, "a low surrogate \\u escape without a high one"},
      {"\"a\xFF\"", 2, "invalid UTF-8 (byte 0xFF) in a string"},
      {"\"\x80\"", 1, "invalid UTF-8 (byte 0x80)"},              // lone continuation byte
      {"\"\xC0\xAF\"", 1, "invalid UTF-8 (byte 0xC0)"},          // overlong '/'
      {"\"\xE0\x80\xAF\"", 1, "invalid UTF-8 (byte 0xE0)"},      // overlong, 3 bytes
      {"\"\xED\xA0\x80\"", 1, "invalid UTF-8 (byte 0xED)"},      // U+D800 encoded
      {"\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8 (byte 0xF4)"},  // above U+10FFFF
      {"\"\xE2\x82\"", 1, "invalid UTF-8 (byte 0xE2)"},          // truncated by the quote
      {"\"\xE2\x82", 1, "invalid UTF-8 (byte 0xE2)"},            // truncated by the end
  };
  for (const Bad& c : cases) check_json_rejects(c.text, c.offset, c.problem);
}

TEST_CASE("json_header caps nesting at 64 levels without using the stack for more", "[io][json][errors]") {
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK(parse_json(ok).as_array() != nullptr);
  check_json_rejects(std::string(65, '[') + std::string(65, ']'), 64, "nesting deeper than 64 levels");
  check_json_rejects(std::string(1'000'000, '['), 64, "nesting deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 70; ++i) objects += "{\"a\":";
  check_json_rejects(objects, 64 * 5, "nesting deeper than 64 levels");
}

TEST_CASE("json_header caps the number of values (a 100 MB header of zeros cannot take gigabytes)", "[io][json][errors]") {
  constexpr std::size_t cap = nabla::io::detail::JsonParser::max_values;
  // The array is value 1, its elements values 2...: element cap - 1 is one too many.
  std::string text = "[";
  for (std::size_t i = 0; i < cap; ++i) text += "0,";
  text.back() = ']';
  try {
    (void)parse_json(text);
    FAIL("accepted");
  } catch (const JsonError& e) {
    CHECK(e.offset() == 1 + 2 * (cap - 1));
    CHECK_THAT(e.what(), Catch::Contains("more than 4194304 values"));
  }
  text.resize(text.size() - 2);  // drop the last element
  text.back() = ']';
  CHECK(parse_json(text).as_array()->size() == cap - 1);
}

TEST_CASE("json_header refuses a key named twice in any object", "[io][json][errors]") {
  JsonDuplicateKey top = json_duplicate(R"({"a":1,"b":2,"a":3})");
  CHECK(top.key() == "a");
  CHECK(top.depth() == 1);
  CHECK(top.offset() == 13);
  CHECK_THAT(top.what(), Catch::Equals("the key 'a' appears twice in one object"));

  const JsonDuplicateKey nested = json_duplicate(R"({"x":[{"b":1,"c":2,"b":3}]})");
  CHECK(nested.key() == "b");
  CHECK(nested.depth() == 3);
  CHECK(nested.offset() == 19);

  // Keys compare after decoding escapes.
  CHECK(json_duplicate(R"({"a":1,"\u0061":2})").key() == "a");
  CHECK(parse_json(R"({"a":1,"A":2,"a ":3})").as_object()->size() == 3);

  // Large objects take the sorting path; the earliest repeat is reported.
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":0,";
  const std::size_t first_repeat = big.size();
  big += R"("k30":1,"k5":1,"k30":2})";
  const JsonDuplicateKey repeat = json_duplicate(big);
  CHECK(repeat.key() == "k30");
  CHECK(repeat.offset() == first_repeat);
  CHECK(parse_json(big.substr(0, first_repeat - 1) + "}").as_object()->size() == 40);
}

TEST_CASE("json_header agrees with nlohmann on short texts and on mutated headers", "[io][json]") {
  // Every text of up to 3 characters over JSON's punctuation and a few
  // letters, then random texts of 4 to 7 (exceptions are slow under ASan).
  const std::string alphabet = "{}[]\":,0 1-.eE+tu\\";
  std::vector<std::string> texts{""};
  for (std::size_t length = 1; length <= 3; ++length) {
    std::vector<std::string> longer;
    for (const std::string& t : texts) {
      if (t.size() + 1 != length) continue;
      for (const char c : alphabet) longer.push_back(t + c);
    }
    texts.insert(texts.end(), longer.begin(), longer.end());
  }
  for (const std::string& t : texts) check_json_agrees_with_nlohmann(t);
  nabla::Generator gen(2024);
  for (int round = 0; round < 10000; ++round) {
    std::string text(4 + gen.below(4), ' ');
    for (char& c : text) c = alphabet[gen.below(alphabet.size())];
    check_json_agrees_with_nlohmann(text);
  }

  // Single-byte edits of real headers, including bytes >= 0x80.
  const std::vector<std::string> seeds{
      R"({"__metadata__":{"format":"pt","note":"h\u00e9llo \ud83d\ude00"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
      "{\"caf\xC3\xA9\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},\"x\":[-1.5e-3,true,false,null]}",
      R"([0, -0, 1.25E+2, "\"\\\/\b\f\n\r\t", {"a" : [ ]}])"};
  const std::string inserts = "{}[]\",:0-.e\\u \xC3\xA9";
  for (int round = 0; round < 5000; ++round) {
    std::string text = seeds[gen.below(seeds.size())];
    const std::size_t at = gen.below(text.size());
    switch (gen.below(3)) {
      case 0: text[at] = static_cast<char>(gen.below(256)); break;
      case 1: text.erase(at, 1); break;
      default: text.insert(at, 1, inserts[gen.below(inserts.size())]); break;
    }
    check_json_agrees_with_nlohmann(text);
  }
}

TEST_CASE("json_header writes compact JSON with every needed escape", "[io][json]") {
  JsonObject o;
  o.push_back(JsonMember{"s", JsonValue{std::string("q\"b\\s/\b\f\n\r\t\x01\x1F\x7F h\xC3\xA9 \xF0\x9F\x98\x80")}});
  o.push_back(JsonMember{"n", JsonValue{JsonArray{JsonValue{std::uint64_t{0}}, JsonValue{UINT64_MAX}, JsonValue{nullptr},
                                                  JsonValue{true}, JsonValue{false}, JsonValue{JsonReal{-0.5, ""}}}}});
  o.push_back(JsonMember{"e", JsonValue{JsonObject{}}});
  o.push_back(JsonMember{std::string("k\x02", 2), JsonValue{JsonArray{}}});
  const std::string text = dump_json(JsonValue{o});
  CHECK(text ==
        "{\"s\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7F h\xC3\xA9 \xF0\x9F\x98\x80\","
        "\"n\":[0,18446744073709551615,null,true,false,-0.5],\"e\":{},\"k\\u0002\":[]}");
  // nlohmann writes the same bytes.
  CHECK(nlohmann::ordered_json::parse(text).dump() == text);
  // Round trip: the text reads back to the same value and writes the same bytes.
  const JsonValue back = parse_json(text);
  CHECK(dump_json(back) == text);
  CHECK(*back.find("s")->as_string() == *o[0].value.as_string());
  CHECK(back.as_object()->at(3).key == std::string("k\x02", 2));
}

TEST_CASE("json_header refuses to write invalid UTF-8, naming the byte", "[io][json][errors]") {
  for (const auto& [bad, index] : std::vector<std::pair<std::string, std::size_t>>{
           {"ab\xFF", 2}, {"\xC3", 0}, {"ok\xC0\xAF", 2}, {"x\xED\xA0\x80", 1}, {"\xF4\x90\x80\x80", 0}}) {
    INFO(index);
    std::string out;
    try {
      nabla::io::detail::append_json_string(out, bad);
      FAIL("accepted");
    } catch (const JsonError& e) {
      CHECK(e.offset() == index);
      CHECK_THAT(e.what(), Catch::StartsWith("invalid UTF-8 byte 0x") && Catch::EndsWith("at index " + std::to_string(index)));
    }
  }
  JsonValue meta{JsonObject{JsonMember{"k", JsonValue{std::string("v\xFE")}}}};
  CHECK_THROWS_WITH(dump_json(meta), "invalid UTF-8 byte 0xFE at index 1");
  CHECK_THROWS_WITH(dump_json(JsonValue{JsonReal{std::numeric_limits<double>::quiet_NaN(), ""}}), Catch::Contains("NaN or infinite"));
}

TEST_CASE("json_header through safetensors: headers nested duplicates and Python's files", "[io][json][safetensors]") {
  nabla::io_test::TempDir dir;
  const std::string path = dir.file("json.safetensors");
  const std::string f32x2(8, '\0');
  // Writes `header` and returns the message expected for a problem at header byte `at`.
  const auto prepare = [&](const std::string& header, const std::string& problem, std::size_t at) {
    nabla::io_test::write_bytes(path, json_test_file(header, f32x2));
    return "read_safetensors: " + path + ": " + problem + " (offset " + std::to_string(8 + at) + ")";
  };
  std::string h = R"({"a":{"dtype":"F32","shape":[2],"dtype":"F32","data_offsets":[0,8]}})";
  std::string expected = prepare(h, "the header names 'dtype' twice in one object", h.rfind("\"dtype\""));
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path), expected);
  h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]} , "a":1})";
  expected = prepare(h, "the header names 'a' twice", h.rfind("\"a\""));
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path), expected);
  h = R"({"a":{"dtype":"F32","shape":[2,]}})";
  expected = prepare(h, "the header is not valid JSON", h.find(",]") + 1);
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path), expected + ": unexpected ']', expected a value");
  h = R"({"a":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})";
  expected = prepare(h, "the header is not valid JSON", h.find("1844"));
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path), expected + ": the integer 18446744073709551616 does not fit in 64 bits");
  // Shapes are quoted compactly, numbers as the file wrote them.
  nabla::io_test::write_bytes(
      path, json_test_file(R"({"a":{"dtype":"F32","shape":[1e2, "x", {"y" : null}],"data_offsets":[0,8]}})", f32x2));
  CHECK_THROWS_WITH(nabla::io::read_safetensors(path),
                    Catch::EndsWith("entry 'a': 'shape' [1e2,\"x\",{\"y\":null}] holds a value that is not a non-negative integer"));

  // Files written by the Python reference writer (json.dumps, compact): our
  // reader sees their headers, and our writer reproduces them byte for byte.
  for (const char* name : {"mlp_f32.safetensors", "mlp_f64.safetensors", "batchnorm.safetensors"}) {
    INFO(name);
    const std::string original = nabla::io_test::read_bytes(nabla::io_test::fixture_file(name));
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(original[static_cast<std::size_t>(i)]);
    std::string header = original.substr(8, n);
    const JsonValue parsed = parse_json(header);
    header.erase(header.find_last_not_of(' ') + 1);
    CHECK(dump_json(parsed) == header);
    const JsonValue* first = parsed.as_object()->back().value.find("data_offsets");
    REQUIRE(first != nullptr);
    CHECK(first->as_array()->size() == 2);

    const auto file = nabla::io::read_safetensors(nabla::io_test::fixture_file(name));
    nabla::io::write_safetensors(dir.file("copy.safetensors"), file.tensors, file.metadata);
    CHECK(nabla::io_test::read_bytes(dir.file("copy.safetensors")) == original);
  }
}
