#pragma once
// Downloads of files that may be large (a video, every output of a workshop as one zip): the
// body is read and sent a chunk at a time on the connection's own executor, so a download holds
// no thread and no more memory than one chunk, whatever its size. Its length is known before
// the first byte (Content-Length); a file that changed size meanwhile ends the connection early
// rather than send a body that lies about it.

#include <utility>  // before Asio: Boost 1.74's Asio needs std::exchange declared

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "comfyq/server/http.hpp"
#include "comfyq/server/zip_layout.hpp"
#include "comfyq/util/crc32.hpp"

namespace comfyq::server {

inline constexpr std::size_t download_chunk_bytes = 64 * 1024;

/// A download's body, produced a chunk at a time.
class body_source {
 public:
  virtual ~body_source() = default;
  /// The body's length in bytes.
  virtual std::uint64_t size() const = 0;
  /// The next chunk; nothing once the body is complete. Throws when a file cannot be read whole.
  virtual std::optional<std::string> next() = 0;
};

/// Reads `size` bytes of a file, a chunk at a time, feeding each to `seen`.
class file_reader {
 public:
  file_reader(const std::filesystem::path& file, std::uint64_t size) : in_(file, std::ios::binary), left_(size) {
    if (!in_) throw std::runtime_error("cannot open " + file.string());
  }

  std::optional<std::string> next() {
    if (left_ == 0) return std::nullopt;
    std::string chunk(static_cast<std::size_t>(std::min<std::uint64_t>(left_, download_chunk_bytes)), '\0');
    in_.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (static_cast<std::size_t>(in_.gcount()) != chunk.size()) throw std::runtime_error("a file got shorter while sent");
    left_ -= chunk.size();
    return chunk;
  }

 private:
  std::ifstream in_;
  std::uint64_t left_;
};

/// One file as it is.
class file_source final : public body_source {
 public:
  file_source(std::filesystem::path file, std::uint64_t size) : file_(std::move(file)), size_(size) {}
  std::uint64_t size() const override { return size_; }
  std::optional<std::string> next() override {
    if (!reader_) reader_.emplace(file_, size_);
    return reader_->next();
  }

 private:
  std::filesystem::path file_;
  std::uint64_t size_;
  std::optional<file_reader> reader_;
};

/// Files as one zip archive (zip_layout.hpp): `files[i]` holds the content of `layout`'s member i.
class zip_source final : public body_source {
 public:
  zip_source(zip_layout layout, std::vector<std::filesystem::path> files)
      : layout_(std::move(layout)), files_(std::move(files)) {}

  std::uint64_t size() const override { return layout_.size(); }

  std::optional<std::string> next() override {
    while (member_ < files_.size()) {
      if (!reader_) {
        reader_.emplace(files_[member_], layout_.members()[member_].size);
        crc_ = {};
        return layout_.local_header(member_);
      }
      if (std::optional<std::string> chunk = reader_->next()) {
        crc_.update(*chunk);
        return chunk;
      }
      reader_.reset();
      return layout_.data_descriptor(member_++, crc_.value());
    }
    if (done_) return std::nullopt;
    done_ = true;
    return layout_.central_directory();
  }

 private:
  zip_layout layout_;
  std::vector<std::filesystem::path> files_;
  std::size_t member_ = 0;
  std::optional<file_reader> reader_;
  util::crc32 crc_;
  bool done_ = false;
};

/// What a download is sent as.
struct download_head {
  std::string content_type = "application/octet-stream";
  std::string file_name{};  ///< the name a browser saves it under; empty: shown, not saved
};

/// Sends a 200 response with `source`'s body over a connection handed over by the server, then
/// closes it.
class download : public std::enable_shared_from_this<download> {
 public:
  /// A client that takes none of a chunk for `stall_limit` is dropped.
  download(boost::beast::tcp_stream&& stream, std::shared_ptr<body_source> source, std::chrono::seconds stall_limit)
      : stream_(std::move(stream)), source_(std::move(source)), stall_limit_(stall_limit) {}

  void run(const download_head& head, unsigned http_version) {
    http::response<http::empty_body> res{http::status::ok, http_version};
    res.set(http::field::content_type, head.content_type);
    if (!head.file_name.empty()) {
      res.set(http::field::content_disposition, "attachment; filename=\"" + quoted_name(head.file_name) + "\"");
    }
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.content_length(source_->size());
    res.keep_alive(false);
    std::ostringstream header;
    header << res.base();
    send(header.str());
  }

 private:
  // A name inside a quoted-string: no quote, backslash or control character.
  static std::string quoted_name(const std::string& name) {
    std::string out;
    for (char c : name) out += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    return out;
  }

  void send(std::string bytes) {
    chunk_ = std::move(bytes);
    stream_.expires_after(stall_limit_);  // a client that stops reading is dropped
    boost::asio::async_write(stream_, boost::asio::buffer(chunk_),
                             [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->send_next();
                             });
  }

  void send_next() {
    std::optional<std::string> chunk;
    try {
      chunk = source_->next();
    } catch (const std::exception&) {
      return close();  // the client sees a body shorter than Content-Length: an error, not a bad file
    }
    if (!chunk) return close();
    send(std::move(*chunk));
  }

  void close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  boost::beast::tcp_stream stream_;
  std::shared_ptr<body_source> source_;
  std::chrono::seconds stall_limit_;
  std::string chunk_;
};

/// A stream route's answer to `req` that sends `source` as a download (see download).
inline stream_handoff send_download(const request& req, std::unique_ptr<body_source> source, download_head head,
                                    std::chrono::seconds stall_limit) {
  return [source = std::shared_ptr<body_source>(std::move(source)), head = std::move(head), version = req.version(),
          stall_limit](boost::beast::tcp_stream&& connection) {
    std::make_shared<download>(std::move(connection), source, stall_limit)->run(head, version);
  };
}

}  // namespace comfyq::server
