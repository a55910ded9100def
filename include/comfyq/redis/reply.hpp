#pragma once
// What Redis answered: `reply` owns a hiredis redisReply, `reply_view` looks at one reply or at
// one element of an array reply (arrays nest: r.at(1).at(0).string()).
//
// Redis error replies are values here (is_error(), error_message()): a Lua script's
// redis.error_reply is an answer its caller maps, not a failure of the connection. The typed
// accessors (integer(), string(), at(), ...) throw comfyq::store_unavailable when the reply is not
// what they read, an error reply included: Redis answered something the caller cannot use
// (WRONGTYPE, OOM, READONLY, LOADING, a script bug), so the operation did not do its work.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "comfyq/errors.hpp"

namespace comfyq::redis {

/// The kinds of RESP2 reply.
enum class reply_type { string, status, integer, nil, array, error };

/// A non-owning view of a reply; valid as long as the `reply` it comes from. A view of nothing
/// (a moved-from reply) is nil.
class reply_view {
 public:
  explicit reply_view(const redisReply* raw) noexcept : raw_(raw) {}

  reply_type type() const noexcept {
    if (raw_ == nullptr) return reply_type::nil;
    switch (raw_->type) {
      case REDIS_REPLY_STRING: return reply_type::string;
      case REDIS_REPLY_STATUS: return reply_type::status;
      case REDIS_REPLY_INTEGER: return reply_type::integer;
      case REDIS_REPLY_ARRAY: return reply_type::array;
      case REDIS_REPLY_ERROR: return reply_type::error;
      default: return reply_type::nil;
    }
  }
  bool is_nil() const noexcept { return type() == reply_type::nil; }
  /// A bulk string (binary safe).
  bool is_string() const noexcept { return type() == reply_type::string; }
  /// A status line such as OK or QUEUED.
  bool is_status() const noexcept { return type() == reply_type::status; }
  bool is_integer() const noexcept { return type() == reply_type::integer; }
  bool is_array() const noexcept { return type() == reply_type::array; }
  bool is_error() const noexcept { return type() == reply_type::error; }

  long long integer() const {
    require(is_integer(), "an integer");
    return raw_->integer;
  }
  /// The bytes of a bulk string or the text of a status.
  std::string_view string() const {
    require(is_string() || is_status(), "a string");
    return {raw_->str, raw_->len};
  }
  /// The string, or nullopt for nil (GET of a missing key, HGET of a missing field).
  std::optional<std::string_view> string_or_nil() const {
    if (is_nil()) return std::nullopt;
    return string();
  }
  /// The text of an error reply, e.g. "NOSCRIPT No matching script. Please use EVAL."
  std::string_view error_message() const {
    require(is_error(), "an error");
    return {raw_->str, raw_->len};
  }
  /// Whether this is an error reply whose code (its first word) is `code`, e.g. "NOSCRIPT".
  bool is_error_code(std::string_view code) const noexcept {
    if (!is_error()) return false;
    const std::string_view message{raw_->str, raw_->len};
    return message.starts_with(code) && (message.size() == code.size() || message[code.size()] == ' ');
  }

  /// Number of elements of an array reply.
  std::size_t size() const {
    require(is_array(), "an array");
    return raw_->elements;
  }
  /// Element `index` of an array reply.
  reply_view at(std::size_t index) const {
    require(is_array() && index < raw_->elements, "an array of more than " + std::to_string(index) + " elements");
    return reply_view(raw_->element[index]);
  }
  /// The elements of an array reply, for range-for.
  std::vector<reply_view> elements() const {
    std::vector<reply_view> views;
    views.reserve(size());
    for (std::size_t i = 0; i < raw_->elements; ++i) views.emplace_back(raw_->element[i]);
    return views;
  }

  /// Throws store_unavailable unless this is the status OK (what SET, SELECT, ... answer).
  void expect_ok() const { require(is_status() && string() == "OK", "the status OK"); }

  /// The reply in a few words, for messages: `integer 3`, `error "WRONGTYPE ..."`, `array of 2`.
  std::string describe() const {
    constexpr std::size_t shown = 80;
    const auto quoted = [&] {
      const std::string_view text{raw_->str, raw_->len};
      return "\"" + std::string(text.substr(0, shown)) + (text.size() > shown ? "...\"" : "\"");
    };
    switch (type()) {
      case reply_type::string: return "string " + quoted();
      case reply_type::status: return "status " + quoted();
      case reply_type::integer: return "integer " + std::to_string(raw_->integer);
      case reply_type::nil: return "nil";
      case reply_type::array: return "array of " + std::to_string(raw_->elements);
      case reply_type::error: return "error " + quoted();
    }
    return "unknown reply";
  }

 protected:
  const redisReply* raw_;

 private:
  void require(bool holds, const std::string& expected) const {
    if (!holds) throw store_unavailable("unexpected Redis reply: expected " + expected + ", got " + describe());
  }
};

/// A whole reply, owned: frees the redisReply (and all its elements) when it goes away.
class reply : public reply_view {
 public:
  /// Takes ownership of `raw` (as returned by redisGetReply).
  explicit reply(redisReply* raw) noexcept : reply_view(raw), owned_(raw) {}

  reply(reply&& other) noexcept : reply_view(other.raw_), owned_(std::move(other.owned_)) { other.raw_ = nullptr; }
  reply& operator=(reply&& other) noexcept {
    if (this != &other) {
      owned_ = std::move(other.owned_);
      raw_ = other.raw_;
      other.raw_ = nullptr;
    }
    return *this;
  }
  reply(const reply&) = delete;
  reply& operator=(const reply&) = delete;
  ~reply() = default;

 private:
  struct free_reply {
    void operator()(redisReply* raw) const noexcept { freeReplyObject(raw); }
  };
  std::unique_ptr<redisReply, free_reply> owned_;
};

}  // namespace comfyq::redis
