// A Beast body that sends a byte range of an open file (FileSpan) with pread, 64 KiB at a time,
// so a multi-gigabyte original is never in memory and Range requests need no seeking state.
#pragma once

#include <unistd.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/optional.hpp>

#include "server/http.hpp"

namespace cw::server {

struct FileRangeBody {
  using value_type = FileSpan;

  static std::uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& v)
        : span_(v), pos_(v.offset), remain_(v.length) {}

    void init(beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (remain_ == 0) return boost::none;
      size_t want = static_cast<size_t>(std::min<uint64_t>(remain_, buf_.size()));
      ssize_t n = ::pread(*span_.fd, buf_.data(), want, static_cast<off_t>(pos_));
      if (n <= 0) {
        ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
        return boost::none;
      }
      pos_ += static_cast<uint64_t>(n);
      remain_ -= static_cast<uint64_t>(n);
      return {{const_buffers_type(buf_.data(), static_cast<size_t>(n)), remain_ > 0}};
    }

   private:
    const value_type& span_;
    uint64_t pos_;
    uint64_t remain_;
    std::array<char, 64 * 1024> buf_;
  };
};

}  // namespace cw::server
