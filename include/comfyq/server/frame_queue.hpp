#pragma once
// The frames a stream's socket has yet to take, bounded in bytes: a client that does not read
// falls behind by at most the bound before the stream drops it, so that it cannot grow the
// server's memory (event_stream.hpp, comfyui_socket.hpp).

#include <cstddef>
#include <deque>
#include <string>
#include <utility>

namespace comfyq::server {

inline std::size_t frame_bytes(const std::string& frame) { return frame.size(); }

/// `Frame` has an overload of frame_bytes.
template <class Frame>
class frame_queue {
 public:
  explicit frame_queue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  /// Adds `frame`; false when the frames waiting are now more than the bound.
  bool push(Frame frame) {
    bytes_ += frame_bytes(frame);
    frames_.push_back(std::move(frame));
    return bytes_ <= max_bytes_;
  }

  bool empty() const noexcept { return frames_.empty(); }
  const Frame& front() const { return frames_.front(); }

  void pop() {
    bytes_ -= frame_bytes(frames_.front());
    frames_.pop_front();
  }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<Frame> frames_;
};

}  // namespace comfyq::server
