// read_idx: the IDX file format of MNIST (big-endian magic and dims, uint8
// data), plain or gzip-compressed, checked before anything large is allocated.
#pragma once

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "nabla/config.hpp"
#include "nabla/core/error.hpp"
#include "nabla/core/shape.hpp"
#include "nabla/core/storage.hpp"
#include "nabla/core/tensor.hpp"

#if NABLA_HAS_ZLIB
#include <zlib.h>
#endif

namespace nabla::data {

// IDX files of higher rank than this are refused (MNIST uses 1 and 3).
inline constexpr int max_idx_rank = 8;

namespace detail {

using nabla::detail::message;

inline std::string hex(std::uint64_t value, int digits) {
  static constexpr char symbols[] = "0123456789abcdef";
  std::string out = "0x";
  for (int i = digits - 1; i >= 0; --i) out += symbols[(value >> (4 * i)) & 0xf];
  return out;
}

[[noreturn]] inline void idx_error(const std::string& name, const std::string& problem) {
  throw IOError(message("read_idx: ", name, ": ", problem));
}

// Uncompressed input: the remaining byte count is known up front.
class PlainSource {
 public:
  PlainSource(std::istream& in, std::uint64_t size) : in_(in), size_(size) {}
  std::size_t read(unsigned char* dst, std::size_t n) {
    in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    const auto got = static_cast<std::size_t>(in_.gcount());
    offset_ += got;
    return got;
  }
  std::uint64_t offset() const noexcept { return offset_; }
  std::uint64_t remaining() const noexcept { return size_ - std::min(size_, offset_); }

 private:
  std::istream& in_;
  std::uint64_t size_;
  std::uint64_t offset_ = 0;
};

#if NABLA_HAS_ZLIB
// Gzip input, inflated incrementally; concatenated members are allowed,
// anything else after the last member is an error.
class GzipSource {
 public:
  GzipSource(std::istream& in, const std::string& name) : in_(in), name_(name), input_(std::size_t{1} << 16) {
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) idx_error(name_, "cannot initialise zlib");
  }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  ~GzipSource() { inflateEnd(&zs_); }

  // Up to n decompressed bytes; fewer only at the end of the last member.
  std::size_t read(unsigned char* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n && !end_) {
      if (member_done_) {
        next_member();
        continue;
      }
      if (zs_.avail_in == 0 && !exhausted_) refill();
      const std::size_t want = std::min<std::size_t>(n - got, UINT_MAX);
      zs_.next_out = dst + got;
      zs_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t produced = want - zs_.avail_out;
      got += produced;
      offset_ += produced;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
        if (produced == 0 && zs_.avail_in == 0 && exhausted_) {
          idx_error(name_, message("the gzip stream ends early: the compressed data is truncated (after ", offset_,
                                   " decompressed bytes, compressed offset ", compressed_offset(), ")"));
        }
      } else {
        idx_error(name_, message("the gzip data is corrupt: ", zs_.msg ? zs_.msg : "inflate failed",
                                 " (compressed offset ", compressed_offset(), ", after ", offset_,
                                 " decompressed bytes)"));
      }
    }
    return got;
  }
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  std::uint64_t compressed_offset() const noexcept { return consumed_ - zs_.avail_in; }

  // Moves unread input to the front and reads more after it.
  void refill() {
    if (zs_.avail_in > 0 && zs_.next_in != input_.data()) std::memmove(input_.data(), zs_.next_in, zs_.avail_in);
    const std::size_t keep = zs_.avail_in;
    in_.read(reinterpret_cast<char*>(input_.data() + keep), static_cast<std::streamsize>(input_.size() - keep));
    const auto got = static_cast<std::size_t>(in_.gcount());
    if (got == 0 || in_.eof()) exhausted_ = true;
    consumed_ += got;
    zs_.next_in = input_.data();
    zs_.avail_in = static_cast<uInt>(keep + got);
  }

  // After a member: the end of the file, another member, or garbage.
  void next_member() {
    while (zs_.avail_in < 2 && !exhausted_) refill();
    if (zs_.avail_in == 0) {
      end_ = true;
      return;
    }
    if (zs_.avail_in < 2 || zs_.next_in[0] != 0x1f || zs_.next_in[1] != 0x8b) {
      idx_error(name_, message("trailing garbage after the gzip stream (compressed offset ", compressed_offset(), ")"));
    }
    if (inflateReset(&zs_) != Z_OK) idx_error(name_, "cannot reset zlib");
    member_done_ = false;
  }

  std::istream& in_;
  const std::string& name_;
  std::vector<unsigned char> input_;
  z_stream zs_{};
  std::uint64_t consumed_ = 0;  // compressed bytes read from the file
  std::uint64_t offset_ = 0;    // decompressed bytes handed out
  bool exhausted_ = false;
  bool member_done_ = false;
  bool end_ = false;
};
#endif

struct IdxHeader {
  Shape shape;
  std::uint64_t bytes = 0;   // data bytes the dims claim
  std::uint64_t length = 0;  // header bytes
};

inline const char* idx_type_name(unsigned type) {
  switch (type) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

// Parses magic and dims; `where` describes offsets ("" or " of the
// decompressed data").
template <class Source>
IdxHeader read_idx_header(Source& source, const std::string& name, const char* where) {
  unsigned char magic[4];
  const std::size_t got = source.read(magic, 4);
  if (got < 4) {
    idx_error(name, message("truncated header: ", got, " bytes where the 4-byte magic number belongs (offset 0",
                            where, ")"));
  }
  const std::uint64_t magic_value =
      std::uint64_t{magic[0]} << 24 | std::uint64_t{magic[1]} << 16 | std::uint64_t{magic[2]} << 8 | magic[3];
  if (magic[0] != 0 || magic[1] != 0) {
    idx_error(name, message("bad magic number ", hex(magic_value, 8),
                            " (offset 0): not an IDX file (expected 0x0000TTRR: type byte, rank byte)"));
  }
  const unsigned type = magic[2];
  if (type != 0x08) {
    const char* known = idx_type_name(type);
    if (known) {
      idx_error(name, message("element type ", hex(type, 2), " (", known,
                              ") is not supported; nabla reads uint8 (0x08) (offset 2)"));
    }
    idx_error(name, message("unknown element type byte ", hex(type, 2), " (offset 2)"));
  }
  const int rank = magic[3];
  if (rank < 1 || rank > max_idx_rank) {
    idx_error(name, message("rank ", rank, " is not supported (1 to ", max_idx_rank, ") (offset 3)"));
  }
  unsigned char dims[4 * max_idx_rank];
  const auto dim_bytes = static_cast<std::size_t>(4 * rank);
  const std::size_t have = source.read(dims, dim_bytes);
  if (have < dim_bytes) {
    idx_error(name, message("truncated header: ", rank, " dimensions need ", dim_bytes, " bytes at offset 4", where,
                            " but only ", have, " remain"));
  }
  IdxHeader header;
  header.length = 4 + dim_bytes;
  std::uint64_t count = 1;
  bool overflow = false;
  for (int d = 0; d < rank; ++d) {
    const std::uint64_t extent = std::uint64_t{dims[4 * d]} << 24 | std::uint64_t{dims[4 * d + 1]} << 16 |
                                 std::uint64_t{dims[4 * d + 2]} << 8 | dims[4 * d + 3];
    header.shape.push_back(static_cast<std::int64_t>(extent));
    if (extent != 0 && count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / extent) {
      overflow = true;
    }
    count *= overflow ? 1 : extent;
  }
  // A zero extent makes the product 0 regardless of an overflowing prefix.
  bool has_zero = false;
  for (std::int64_t e : header.shape) has_zero = has_zero || e == 0;
  if (overflow && !has_zero) {
    idx_error(name, message("dims ", to_string(header.shape),
                            " overflow: their product does not fit in 64 bits (offset 4", where, ")"));
  }
  header.bytes = has_zero ? 0 : count;
  return header;
}

inline Tensor<std::uint8_t> read_plain(std::istream& in, std::uint64_t size, const std::string& name) {
  PlainSource source(in, size);
  const IdxHeader header = read_idx_header(source, name, "");
  const std::uint64_t remaining = source.remaining();
  if (header.bytes > remaining) {
    idx_error(name, message("header claims ", header.bytes, " bytes of data (dims ", to_string(header.shape),
                            ") but only ", remaining, " remain (offset ", header.length, ")"));
  }
  if (header.bytes < remaining) {
    idx_error(name, message("trailing data: ", remaining - header.bytes, " bytes after the ", header.bytes,
                            " bytes of data the header claims (offset ", header.length + header.bytes, ")"));
  }
  Tensor<std::uint8_t> out = Tensor<std::uint8_t>::empty(header.shape);
  const std::size_t got = source.read(out.data(), static_cast<std::size_t>(header.bytes));
  if (got != header.bytes) {
    idx_error(name, message("read failed after ", got, " of ", header.bytes, " data bytes (offset ",
                            header.length + got, ")"));
  }
  return out;
}

#if NABLA_HAS_ZLIB
inline Tensor<std::uint8_t> read_gzip(std::istream& in, std::uint64_t compressed_size, const std::string& name) {
  GzipSource source(in, name);
  const IdxHeader header = read_idx_header(source, name, " of the decompressed data");
  // Deflate expands at most 1032:1, so a header claiming more than that
  // bound is a lie; refuse it before allocating anything.
  const std::uint64_t bound = compressed_size > std::numeric_limits<std::uint64_t>::max() / 1100
                                  ? std::numeric_limits<std::uint64_t>::max()
                                  : compressed_size * 1100 + 1024;
  if (header.bytes > bound) {
    idx_error(name, message("header claims ", header.bytes, " bytes of data (dims ", to_string(header.shape),
                            ") but a gzip file of ", compressed_size, " bytes cannot hold more than ", bound,
                            " (offset ", header.length, " of the decompressed data)"));
  }
  // Grow the buffer with the data actually inflated, so memory follows the
  // real size even when the claim is within the bound but false.
  const std::uint64_t initial = std::max<std::uint64_t>(std::uint64_t{1} << 20, compressed_size * 16);
  std::uint64_t capacity = std::min(header.bytes, initial);
  Storage storage(static_cast<std::size_t>(capacity));
  std::uint64_t filled = 0;
  while (filled < header.bytes) {
    if (filled == capacity) {
      capacity = std::min(header.bytes, capacity * 2);
      Storage bigger(static_cast<std::size_t>(capacity));
      std::memcpy(bigger.data(), storage.data(), static_cast<std::size_t>(filled));
      storage = std::move(bigger);
    }
    auto* dst = reinterpret_cast<unsigned char*>(storage.data()) + filled;
    const std::size_t got = source.read(dst, static_cast<std::size_t>(capacity - filled));
    filled += got;
    if (got == 0) {
      idx_error(name, message("header claims ", header.bytes, " bytes of data (dims ", to_string(header.shape),
                              ") but the decompressed stream ends after ", filled, " (offset ",
                              header.length + filled, " of the decompressed data)"));
    }
  }
  unsigned char extra = 0;
  if (source.read(&extra, 1) != 0) {
    idx_error(name, message("trailing data after the ", header.bytes, " bytes of data the header claims (offset ",
                            header.length + header.bytes, " of the decompressed data)"));
  }
  Shape strides = contiguous_strides(header.shape);
  return Tensor<std::uint8_t>::view_of(std::move(storage), header.shape, std::move(strides), 0);
}
#endif

}  // namespace detail

// Reads an IDX file of uint8 elements from a seekable stream; `name` stands
// for the file in error messages. gzip data is recognised by its magic bytes
// (1f 8b), not by a file extension.
inline Tensor<std::uint8_t> read_idx(std::istream& in, const std::string& name) {
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  if (!in || end < 0) detail::idx_error(name, "cannot determine the file size");
  in.seekg(0, std::ios::beg);
  const auto size = static_cast<std::uint64_t>(end);
  unsigned char start[2] = {0, 0};
  in.read(reinterpret_cast<char*>(start), 2);
  const bool gzip = in.gcount() == 2 && start[0] == 0x1f && start[1] == 0x8b;
  in.clear();
  in.seekg(0, std::ios::beg);
  if (!gzip) return detail::read_plain(in, size, name);
#if NABLA_HAS_ZLIB
  return detail::read_gzip(in, size, name);
#else
  detail::idx_error(name, "the file is gzip-compressed but this build of nabla has no zlib support "
                          "(NABLA_HAS_ZLIB=0); decompress it with gunzip or build with zlib");
#endif
}

// Reads an IDX file (MNIST's format: 0x00000801 labels, 0x00000803 images,
// any rank with the uint8 type byte 0x08), plain or gzip-compressed. The
// result's shape is the file's dims. A malformed file gives an IOError with
// the path, the problem and the byte offset; a header claiming more data
// than the file can hold is refused before anything is allocated.
inline Tensor<std::uint8_t> read_idx(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) detail::idx_error(path, "is a directory, not a file");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno != 0 ? errno : ENOENT;
    throw IOError(detail::message("read_idx: cannot open ", path, ": ",
                                  std::error_code(err, std::generic_category()).message()));
  }
  return read_idx(in, path);
}

}  // namespace nabla::data
