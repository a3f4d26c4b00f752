// Atomic writes: the target is replaced whole or left exactly as it was.
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "helpers.hpp"
#include "nabla/io/atomic_file.hpp"

using nabla::IOError;
using nabla::io::AtomicWriter;
using nabla::io::write_atomically;
using nabla::io::write_file_atomically;
using nabla::io_test::read_bytes;
using nabla::io_test::TempDir;
using nabla::io_test::write_bytes;

TEST_CASE("atomic write creates a file and replaces an existing one", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_file_atomically(path, "first version");
  CHECK(read_bytes(path) == "first version");
  write_atomically(path, [](AtomicWriter& out) {
    out.write("second");
    CHECK(out.position() == 6);
    out.write(" version, longer", 16);
  });
  CHECK(read_bytes(path) == "second version, longer");
  CHECK(dir.entries() == std::vector<std::string>{"out.bin"});  // no temporary left behind
}

TEST_CASE("atomic write keeps the permissions of the file it replaces", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("perm.bin");
  write_bytes(path, "old");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  write_file_atomically(path, "new");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("atomic write of a large payload goes through unbuffered writes", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("big.bin");
  std::string payload(300000, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  write_atomically(path, [&](AtomicWriter& out) {
    out.write("head", 4);
    out.write(payload.data(), payload.size());
    out.write("tail", 4);
  });
  CHECK(read_bytes(path) == "head" + payload + "tail");
}

TEST_CASE("atomic write into a folder that does not exist fails cleanly", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("missing/sub/out.bin");
  CHECK_THROWS_AS(write_file_atomically(path, "x"), IOError);
  CHECK_THROWS_WITH(write_file_atomically(path, "x", "save_weights"),
                    Catch::Contains("save_weights: cannot write " + path) &&
                        Catch::Contains("cannot create a temporary file in " + dir.file("missing/sub")) &&
                        Catch::Contains("No such file or directory"));
  CHECK_FALSE(std::filesystem::exists(dir.file("missing")));
}

TEST_CASE("atomic write to a path without a file name is refused", "[io][atomic]") {
  TempDir dir;
  CHECK_THROWS_WITH(write_file_atomically(dir.path().string() + "/", "x"),
                    Catch::Contains("the path names no file"));
}

TEST_CASE("atomic write into an unwritable folder leaves the old file intact", "[io][atomic]") {
  TempDir dir;
  const std::string locked = dir.file("locked");
  std::filesystem::create_directory(locked);
  const std::string path = locked + "/weights.bin";
  write_bytes(path, "precious old contents");
  REQUIRE(::chmod(locked.c_str(), 0555) == 0);
  // root ignores permission bits; sysfs refuses new files even to root.
  const std::string target = ::access(locked.c_str(), W_OK) == 0 ? "/sys/nabla-io-test-no-such-file" : path;
  try {
    write_file_atomically(target, "new contents", "save_weights");
    std::error_code ec;
    std::filesystem::remove(target, ec);
    WARN("no unwritable folder available on this machine; skipped");
    return;
  } catch (const IOError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("save_weights: cannot write " + target) &&
                         Catch::Contains("cannot create a temporary file") &&
                         (Catch::Contains("Permission denied") || Catch::Contains("Read-only file system") ||
                          Catch::Contains("Operation not permitted")));
  }
  CHECK(read_bytes(path) == "precious old contents");
  ::chmod(locked.c_str(), 0755);
  CHECK(dir.entries() == std::vector<std::string>{"locked"});
}

TEST_CASE("a write that fails after N bytes leaves the previous file byte for byte", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("model.bin");
  std::string old_contents(5000, '\0');
  for (std::size_t i = 0; i < old_contents.size(); ++i) old_contents[i] = static_cast<char>(i % 256);
  write_bytes(path, old_contents);
  std::string payload(200000, 'n');
  for (std::int64_t fail_after : {0, 1, 7, 4096, 65535, 65536, 65537, 150000, 199999}) {
    INFO("failing after " << fail_after << " bytes");
    nabla::io::detail::AtomicWriteFailureGuard guard(fail_after);
    CHECK_THROWS_WITH(write_atomically(
                          path,
                          [&](AtomicWriter& out) {
                            out.write(payload.data(), 10);  // small writes are buffered
                            out.write(payload.data() + 10, payload.size() - 10);
                          },
                          "save_weights"),
                      Catch::Contains("save_weights: cannot write " + path) &&
                          Catch::Contains("write to the temporary file failed") &&
                          Catch::Contains("No space left on device"));
    CHECK(read_bytes(path) == old_contents);
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});
  }
  // The seam is scoped: writes work again.
  write_file_atomically(path, payload);
  CHECK(read_bytes(path) == payload);
}

TEST_CASE("a write that fails on a missing file creates nothing", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("fresh.bin");
  nabla::io::detail::AtomicWriteFailureGuard guard(3);
  CHECK_THROWS_AS(write_file_atomically(path, "0123456789"), IOError);
  CHECK(dir.entries().empty());
}

TEST_CASE("an exception from the writer callback aborts the write", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("keep.bin");
  write_bytes(path, "old");
  CHECK_THROWS_WITH(write_atomically(path,
                                     [](AtomicWriter& out) {
                                       out.write("partial new data");
                                       throw std::runtime_error("serialiser failed");
                                     }),
                    "serialiser failed");
  CHECK(read_bytes(path) == "old");
  CHECK(dir.entries() == std::vector<std::string>{"keep.bin"});
}

TEST_CASE("atomic write over a folder fails at the rename and cleans up", "[io][atomic]") {
  TempDir dir;
  const std::string path = dir.file("a-folder");
  std::filesystem::create_directory(path);
  write_bytes(path + "/inside", "x");
  CHECK_THROWS_WITH(write_file_atomically(path, "data"),
                    Catch::Contains("cannot rename the temporary file over it"));
  CHECK(read_bytes(path + "/inside") == "x");
  CHECK(dir.entries() == std::vector<std::string>{"a-folder"});
}
