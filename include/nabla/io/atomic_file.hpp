// Atomic file writes: write a temporary file beside the target, sync it, and
// rename it over the target, so a failed or interrupted save never leaves a
// half-written file where the old one was.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define NABLA_IO_POSIX 1
#else
#define NABLA_IO_POSIX 0
#endif

#include "nabla/core/error.hpp"

namespace nabla::io {
namespace detail {

using nabla::detail::message;

// Test seam: when >= 0, the writes of this thread fail (as with a full disk,
// ENOSPC) once that many bytes have reached the temporary file.
inline std::int64_t& atomic_write_fail_after() {
  thread_local std::int64_t limit = -1;
  return limit;
}

// Sets atomic_write_fail_after() for a scope.
class AtomicWriteFailureGuard {
 public:
  explicit AtomicWriteFailureGuard(std::int64_t bytes) : saved_(std::exchange(atomic_write_fail_after(), bytes)) {}
  ~AtomicWriteFailureGuard() { atomic_write_fail_after() = saved_; }
  AtomicWriteFailureGuard(const AtomicWriteFailureGuard&) = delete;
  AtomicWriteFailureGuard& operator=(const AtomicWriteFailureGuard&) = delete;

 private:
  std::int64_t saved_;
};

inline std::string errno_text(int code) { return std::error_code(code, std::generic_category()).message(); }

// The temporary file under construction; removes itself unless committed.
class TempFile {
 public:
  TempFile(std::string target, const char* op) : target_(std::move(target)), op_(op) {
    namespace fs = std::filesystem;
    const fs::path target_path(target_);
    if (target_path.filename().empty()) fail("the path names no file", 0);
    dir_ = target_path.parent_path().string();
    if (dir_.empty()) dir_ = ".";
    const std::string base = target_path.filename().string();
    // Unique per process, thread and call; O_EXCL makes a clash a retry.
    thread_local std::uint64_t counter = 0;
    const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto thread_tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&counter));
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::uint64_t tag = (now ^ (thread_tag * 0x9e3779b97f4a7c15ULL)) + ++counter;
      temp_ = (target_path.parent_path() / ("." + base + ".tmp-" + std::to_string(process_id()) + "-" +
                                            std::to_string(tag % 100000000ULL)))
                  .string();
      const int err = open_exclusive();
      if (err == 0) return;
      if (err != EEXIST) {
        temp_.clear();
        fail("cannot create a temporary file in " + dir_, err);
      }
    }
    temp_.clear();
    fail("cannot find a free temporary file name in " + dir_, EEXIST);
  }

  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { discard(); }

  void write(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    if (n >= buffer_capacity) {
      flush_buffer();
      raw_write(p, n);
      return;
    }
    if (buffer_.size() + n > buffer_capacity) flush_buffer();
    buffer_.insert(buffer_.end(), p, p + n);
  }

  std::uint64_t bytes_written() const noexcept { return written_ + buffer_.size(); }

  // Flush, sync, close, rename over the target, sync the directory.
  void commit() {
    flush_buffer();
#if NABLA_IO_POSIX
    if (::fsync(fd_) != 0) fail("fsync of the temporary file failed", errno);
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail("closing the temporary file failed", errno);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename the temporary file over it", errno);
    temp_.clear();  // the target owns the bytes now
    const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_CLOEXEC);
    if (dir_fd >= 0) {
      // Some file systems cannot sync a directory (EINVAL); the data is safe.
      const int rc = ::fsync(dir_fd);
      const int err = errno;
      ::close(dir_fd);
      if (rc != 0 && err != EINVAL && err != EROFS) {
        fail("the file was replaced but syncing its directory " + dir_ + " failed", err);
      }
    }
#else
    std::FILE* file = std::exchange(file_, nullptr);
    if (std::fflush(file) != 0) {
      const int err = errno;
      std::fclose(file);
      fail("flushing the temporary file failed", err);
    }
    if (std::fclose(file) != 0) fail("closing the temporary file failed", errno);
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) fail("cannot rename the temporary file over it", ec.value());
    temp_.clear();
#endif
  }

  // Closes and removes the temporary file (no-op after commit).
  void discard() noexcept {
#if NABLA_IO_POSIX
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
#else
    if (file_) std::fclose(std::exchange(file_, nullptr));
#endif
    if (!temp_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
      temp_.clear();
    }
  }

 private:
  static constexpr std::size_t buffer_capacity = std::size_t{1} << 16;

  [[noreturn]] void fail(const std::string& what, int err) {
    discard();
    std::string text = message(op_, ": cannot write ", target_, ": ", what);
    if (err != 0) text += ": " + errno_text(err);
    throw IOError(text);
  }

  static long process_id() {
#if NABLA_IO_POSIX
    return static_cast<long>(::getpid());
#else
    return 0;
#endif
  }

  // 0 on success, else the errno of the failure.
  int open_exclusive() {
#if NABLA_IO_POSIX
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) return errno;
    // Keep the permissions of the file being replaced.
    struct stat old {};
    if (::stat(target_.c_str(), &old) == 0 && S_ISREG(old.st_mode)) ::fchmod(fd_, old.st_mode & 07777);
    return 0;
#else
    if (std::filesystem::exists(temp_)) return EEXIST;
    file_ = std::fopen(temp_.c_str(), "wb");
    return file_ ? 0 : (errno ? errno : EIO);
#endif
  }

  void flush_buffer() {
    if (buffer_.empty()) return;
    raw_write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  void raw_write(const char* p, std::size_t n) {
    const std::int64_t limit = atomic_write_fail_after();
    bool simulate_full = false;
    if (limit >= 0 && written_ + n > static_cast<std::uint64_t>(limit)) {
      n = static_cast<std::size_t>(static_cast<std::uint64_t>(limit) - std::min<std::uint64_t>(written_, limit));
      simulate_full = true;
    }
    while (n > 0) {
#if NABLA_IO_POSIX
      const ::ssize_t got = ::write(fd_, p, n);
      if (got < 0) {
        if (errno == EINTR) continue;
        fail("write to the temporary file failed", errno);
      }
      const auto done = static_cast<std::size_t>(got);
#else
      const std::size_t done = std::fwrite(p, 1, n, file_);
      if (done == 0) fail("write to the temporary file failed", errno ? errno : EIO);
#endif
      p += done;
      n -= done;
      written_ += done;
    }
    if (simulate_full) fail("write to the temporary file failed", ENOSPC);
  }

  std::string target_;
  const char* op_;
  std::string dir_;
  std::string temp_;
#if NABLA_IO_POSIX
  int fd_ = -1;
#else
  std::FILE* file_ = nullptr;
#endif
  std::uint64_t written_ = 0;
  std::vector<char> buffer_;
};

}  // namespace detail

// What a write_atomically callback writes through.
class AtomicWriter {
 public:
  explicit AtomicWriter(detail::TempFile& file) : file_(&file) {}
  void write(const void* data, std::size_t n) { file_->write(data, n); }
  void write(std::string_view bytes) { file_->write(bytes.data(), bytes.size()); }
  // Bytes written so far.
  std::uint64_t position() const noexcept { return file_->bytes_written(); }

 private:
  detail::TempFile* file_;
};

// Calls fill(AtomicWriter&) to produce the contents of `path`, then replaces
// `path` with them atomically (temporary file in the same folder, fsync,
// rename, fsync of the folder). If anything fails, including `fill` itself,
// the temporary file is removed, `path` is left exactly as it was, and the
// exception propagates (an IOError naming `path` and the system's reason for
// failures of the file system). `op` names the caller in error messages.
template <class Fill>
void write_atomically(const std::string& path, Fill&& fill, const char* op = "write_atomically") {
  detail::TempFile file(path, op);
  AtomicWriter writer(file);
  std::forward<Fill>(fill)(writer);
  file.commit();
}

// Replaces `path` with `bytes` atomically.
inline void write_file_atomically(const std::string& path, std::string_view bytes,
                                  const char* op = "write_file_atomically") {
  write_atomically(path, [bytes](AtomicWriter& out) { out.write(bytes); }, op);
}

}  // namespace nabla::io
