// Listener, sessions and graceful shutdown (after the Beast advanced_server example: one
// session object per connection on its own strand, do_x/on_x pairs, every operation with a
// deadline, a fresh parser per message).
#include "server/server.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/log.hpp"
#include "server/admission.hpp"
#include "server/context.hpp"
#include "server/events.hpp"
#include "server/file_body.hpp"
#include "server/metrics.hpp"
#include "server/middleware.hpp"
#include "server/problem.hpp"
#include "server/rate_limit.hpp"
#include "server/read_cache.hpp"
#include "server/routes.hpp"
#include "server/tile_cache.hpp"

namespace cw::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

class Session;

namespace {
// A body the client sent in broken chunked framing (bad chunk size, extension or trailer), as
// opposed to one cut short by a closed connection or a timeout: it gets a 400 before closing.
bool malformed_body(const beast::error_code& ec) {
  return ec && ec.category() == beast::http::make_error_code(http::error::bad_chunk).category() &&
         ec != http::error::partial_message && ec != http::error::end_of_stream &&
         ec != http::error::need_buffer && ec != http::error::body_limit;
}
}  // namespace

struct Server::Impl {
  Impl(const Config& c, store::Database& d, store::MediaStore& m, Router r, ImageryBackend i)
      : config(c),
        db(d),
        media(m),
        router(std::move(r)),
        imagery(std::move(i)),
        limiter(c.server.rate_limit_per_minute, c.server.rate_limit_burst),
        feed(std::make_unique<store::ChangeFeed>(d)),
        caches(c.server.read_cache_mb > 0
                   ? std::make_unique<ReadCaches>(*feed, static_cast<size_t>(c.server.read_cache_mb)
                                                             << 20)
                   : nullptr),
        events(std::make_unique<EventHub>(d, *feed, c)),
        tiles(c.server.tile_cache_mb > 0
                  ? std::make_unique<TileCache>(*feed, static_cast<size_t>(c.server.tile_cache_mb)
                                                           << 20)
                  : nullptr),
        services{config, db,      media,        metrics,      limiter,
                 router, imagery, caches.get(), events.get(), tiles.get()},
        ioc(io_threads_for(c.server)),
        blocking(static_cast<size_t>(c.database.pool_size)),
        acceptor(ioc),
        signals(ioc, SIGINT, SIGTERM),
        drain_timer(ioc),
        maintenance_timer(ioc) {
    metrics.sandbox_mode(c.pipeline.sandbox);
  }

  void do_accept();
  void begin_drain();
  void schedule_maintenance(std::chrono::seconds delay);
  void check_drained();

  const Config& config;
  store::Database& db;
  store::MediaStore& media;
  Router router;
  ImageryBackend imagery;
  Metrics metrics;
  RateLimiter limiter;
  std::unique_ptr<store::ChangeFeed> feed;  // what the caches and the event hub follow
  std::unique_ptr<ReadCaches> caches;       // null when read_cache_mb = 0
  std::unique_ptr<EventHub> events;
  std::unique_ptr<TileCache> tiles;  // null when tile_cache_mb = 0
  Services services;
  net::io_context ioc;
  net::thread_pool blocking;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer drain_timer;
  net::steady_timer maintenance_timer;
  SteadyClock::time_point drain_deadline;
  std::atomic<bool> draining{false};
  std::mutex sessions_mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
};

class Session;

// The sink a ResponseStream writes to: a handle on the session that may outlive it. The bytes
// queued are counted here, on any thread, so that a client that does not read is cut off before
// its queue passes the bound.
class SessionSink : public StreamSink, public std::enable_shared_from_this<SessionSink> {
 public:
  SessionSink(std::weak_ptr<Session> session, size_t limit)
      : session_(std::move(session)), limit_(limit) {}
  bool push(std::string data) override;
  void end() override;
  bool open() const override { return open_.load(); }

  void written(size_t bytes) { queued_.fetch_sub(bytes); }
  void closed() { open_.store(false); }

 private:
  std::weak_ptr<Session> session_;
  const size_t limit_;
  std::atomic<size_t> queued_{0};
  std::atomic<bool> open_{true};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& srv) : stream_(std::move(socket)), srv_(srv) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() {
    std::lock_guard lock(srv_.sessions_mu);
    srv_.sessions.erase(this);
  }

  void start() {
    {
      std::lock_guard lock(srv_.sessions_mu);
      srv_.sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
  }

  // Called when the server drains: idle connections close now, busy ones after the response,
  // streams end now.
  void drain() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->streaming_) {
        self->end_stream();
      } else if (self->idle_ && self->buffer_.size() == 0) {
        self->close();
      } else {
        self->close_after_ = true;
      }
    });
  }

  auto stream_executor() { return stream_.get_executor(); }

  // --- Streaming responses, called through SessionSink (posted to this strand) ---

  void stream_push(std::string data) {
    if (!streaming_ || stream_ending_) return;
    out_.push_back(std::move(data));
    if (!writing_) write_next_chunk();
  }

  void end_stream() {
    if (!streaming_ || stream_ending_) return;
    stream_ending_ = true;
    if (!writing_) write_next_chunk();
  }

  void abort_stream() {
    if (!streaming_) return;
    stop_stream();
    close();
  }

 private:
  const ServerConfig& cfg() const { return srv_.config.server; }

  void do_read_header() {
    if (srv_.draining) return close();
    idle_ = true;
    route_ = nullptr;
    started_ = false;
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(cfg().header_limit_bytes));
    header_parser_->body_limit(boost::none);
    stream_.expires_after(std::chrono::seconds(cfg().header_timeout_s));
    http::async_read_header(
        stream_, buffer_, *header_parser_,
        beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
  }

  // As the Beast examples keep it: errors first, then the header is admitted (admission.hpp)
  // and the request goes where admission says.
  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::bad_descriptor) {
      return close();
    }
    idle_ = false;
    begin_ = SteadyClock::now();
    started_ = true;
    srv_.metrics.request_started();
    if (ec == http::error::header_limit) {
      close_after_ = true;
      return send(problem(http::status::request_header_fields_too_large,
                          "the request header is larger than the server accepts"));
    }
    if (ec) {
      close_after_ = true;
      log::debug("malformed request", {{"remote", remote_}, {"error", ec.message()}});
      return send(problem(http::status::bad_request, "malformed HTTP request"));
    }
    const RequestHeader& h = header_parser_->get();
    request_id_ = request_id_for(h["X-Request-Id"]);
    origin_ = std::string(h[http::field::origin]);
    method_ = std::string(h.method_string());
    keep_alive_ = header_parser_->keep_alive();
    head_ = h.method() == http::verb::head;
    body_pending_ = !header_parser_->is_done();

    Admission a = admit_header(h, body_pending_, srv_.router, cfg());
    path_ = std::move(a.path);
    query_ = std::move(a.query);
    if (a.kind == Admission::Kind::kReply) {
      close_after_ = a.close_after;
      return send(std::move(a.reply));
    }
    route_ = a.route;
    params_ = std::move(a.params);
    body_limit_ = a.body_limit;
    too_large_ = std::move(a.after_auth);
    ctx_ = std::make_shared<RequestContext>(RequestContext{srv_.services,
                                                           Request(RequestHeader(h)),
                                                           request_id_,
                                                           path_,
                                                           std::move(params_),
                                                           query_,
                                                           {}});
    if (a.kind == Admission::Kind::kStream) return start_stream();
    // A body is read only for a caller the route admits: the token and role are checked first,
    // so that nobody without a valid token makes the server read (and hold) a body.
    if (body_pending_ && !route_->options.roles.empty()) return authenticate_then_read();
    begin_read_body();
  }

  // On the blocking pool: the token, rate limit and role (middleware.hpp admit()). A refusal is
  // sent without reading the body, and the connection then closes gracefully; so is the 413 of
  // an admitted caller whose declared body is over the route's limit.
  void authenticate_then_read() {
    auto ctx = ctx_;
    const Route* route = route_;
    net::post(srv_.blocking, [self = shared_from_this(), route, ctx] {
      std::optional<Reply> refused;
      Reply failed = guarded(*route, *ctx, [&]() -> Result<Reply> {
        refused = admit(*route, *ctx);
        return Reply{};
      });
      if (!refused && !ctx->principal) refused = std::move(failed);  // admit() threw
      net::post(self->stream_.get_executor(), [self, refused = std::move(refused)]() mutable {
        if (!refused && self->too_large_) refused = std::move(self->too_large_);
        self->too_large_.reset();
        if (refused) {
          self->close_after_ = true;
          return self->send(std::move(*refused));
        }
        self->begin_read_body();
      });
    });
  }

  void begin_read_body() {
    body_parser_.emplace(std::move(*header_parser_));
    body_parser_->body_limit(static_cast<std::uint64_t>(body_limit_));
    bool expects_continue =
        body_pending_ && beast::iequals(body_parser_->get()[http::field::expect], "100-continue");
    if (expects_continue) return send_continue([this] { do_read_body(); });
    do_read_body();
  }

  // "100 Continue" for clients that wait for it (curl does for large bodies), then next().
  void send_continue(std::function<void()> next) {
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    stream_.expires_after(std::chrono::seconds(cfg().write_timeout_s));
    http::async_write(stream_, *cont,
                      [self = shared_from_this(), cont, next = std::move(next)](
                          beast::error_code wec, std::size_t) {
                        if (wec) return self->abandon_stream();
                        next();
                      });
  }

  // --- Streaming bodies (uploads) ---

  void start_stream() {
    auto ctx = ctx_;
    const Route* route = route_;
    auto too_large = std::make_shared<std::optional<Reply>>(std::move(too_large_));
    too_large_.reset();
    net::post(srv_.blocking, [self = shared_from_this(), route, ctx, too_large] {
      std::optional<Reply> early;
      auto start = std::make_shared<StreamStart>();
      Reply failed = guarded(*route, *ctx, [&]() -> Result<Reply> {
        early = admit(*route, *ctx);
        if (!early && *too_large) early = std::move(**too_large);
        if (early) return Reply{};
        Result<StreamStart> s = route->options.open_stream(*ctx);
        if (!s.ok()) return s.error();
        *start = std::move(s.value());
        return Reply{};
      });
      if (!early && !start->sink && !start->reply) early = std::move(failed);
      if (!early && start->reply) early = std::move(*start->reply);
      net::post(self->stream_.get_executor(), [self, start, early = std::move(early)]() mutable {
        self->on_stream_open(std::move(start->sink), std::move(early));
      });
    });
  }

  void on_stream_open(std::unique_ptr<BodySink> sink, std::optional<Reply> early) {
    if (early) {
      close_after_ = body_pending_;
      return send(std::move(*early));
    }
    sink_ = std::move(sink);
    stream_parser_.emplace(std::move(*header_parser_));
    stream_parser_->body_limit(static_cast<std::uint64_t>(body_limit_));
    if (stream_buffer_.empty()) stream_buffer_.resize(kStreamChunk);
    // Beast sizes each socket read by the free capacity of buffer_ (at least 512 bytes, at most
    // 64 KiB). buffer_ only ever held the header, so without this the body would arrive in
    // 512-byte reads: millions of syscalls and timer resets for a 2 GiB video.
    buffer_.reserve(64 * 1024);
    bool expects_continue =
        body_pending_ && beast::iequals(stream_parser_->get()[http::field::expect], "100-continue");
    if (expects_continue) return send_continue([this] { do_read_stream(); });
    do_read_stream();
  }

  void do_read_stream() {
    if (stream_parser_->is_done()) {
      body_pending_ = false;
      return finish_stream();
    }
    auto& body = stream_parser_->get().body();
    body.data = stream_buffer_.data();
    body.size = stream_buffer_.size();
    stream_.expires_after(std::chrono::seconds(cfg().body_timeout_s));
    http::async_read_some(stream_, buffer_, *stream_parser_,
                          beast::bind_front_handler(&Session::on_read_stream, shared_from_this()));
  }

  void on_read_stream(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};
    size_t got = stream_buffer_.size() - stream_parser_->get().body().size;
    if (got > 0 && sink_) {
      Status s = sink_->write(std::string_view(stream_buffer_.data(), got));
      if (!s.ok()) {
        Reply refused = problem(s.error());
        sink_->add_error_headers(refused);
        sink_.reset();
        close_after_ = true;
        return send(std::move(refused));
      }
    }
    if (ec == http::error::body_limit) {
      sink_.reset();
      close_after_ = true;
      return send(problem(http::status::payload_too_large, "the upload is too large"));
    }
    if (malformed_body(ec)) {
      sink_.reset();
      close_after_ = true;
      return send(problem(http::status::bad_request, "malformed request body framing"));
    }
    if (ec) {
      log::info("upload interrupted",
                {{"request_id", request_id_}, {"remote", remote_}, {"error", ec.message()}});
      return abandon_stream();
    }
    do_read_stream();
  }

  void finish_stream() {
    auto ctx = ctx_;
    const Route* route = route_;
    std::shared_ptr<BodySink> sink(std::move(sink_));
    net::post(srv_.blocking, [self = shared_from_this(), route, ctx, sink] {
      Reply reply = guarded(*route, *ctx, [&] { return sink->finish(*ctx); });
      net::post(self->stream_.get_executor(),
                [self, reply = std::move(reply)]() mutable { self->send(std::move(reply)); });
    });
  }

  // The client went away or stalled mid-body: the sink decides what survives; no answer.
  void abandon_stream() {
    sink_.reset();
    finish(0, 0);
    close();
  }

  // --- Buffered bodies ---

  void do_read_body() {
    stream_.expires_after(std::chrono::seconds(cfg().body_timeout_s));
    http::async_read(stream_, buffer_, *body_parser_,
                     beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) {
      close_after_ = true;
      return send(problem(http::status::payload_too_large, "the request body is too large"));
    }
    if (malformed_body(ec)) {
      close_after_ = true;
      return send(problem(http::status::bad_request, "malformed request body framing"));
    }
    if (ec) {
      log::info("request body not received",
                {{"request_id", request_id_}, {"remote", remote_}, {"error", ec.message()}});
      finish(0, 0);
      return close();
    }
    body_pending_ = false;
    auto ctx = ctx_;
    ctx->request = body_parser_->release();
    body_parser_.reset();
    const Route* route = route_;
    if (!route->options.blocking) return send(run_handler(*route, *ctx));
    net::post(srv_.blocking, [self = shared_from_this(), ctx, route] {
      Reply reply = run_handler(*route, *ctx);
      net::post(self->stream_.get_executor(),
                [self, reply = std::move(reply)]() mutable { self->send(std::move(reply)); });
    });
  }

  // --- Answers ---

  void send(Reply reply) {
    ctx_.reset();
    status_ = static_cast<int>(reply.status);
    // A change this server committed is seen by the next read at once, before the client can
    // ask again (the database's notification of it may take a moment longer).
    if ((srv_.caches || srv_.tiles) && status_ / 100 == 2 && method_ != "GET" &&
        method_ != "HEAD" && method_ != "OPTIONS") {
      srv_.feed->touch();
    }
    bool keep = keep_alive_ && !close_after_ && !srv_.draining;
    if (reply.stream && !head_) return begin_stream_response(std::move(reply));
    if (reply.file && !head_) {
      auto res = std::make_shared<http::response<FileRangeBody>>(reply.status, 11);
      prepare_headers(*res, reply, keep);
      res->body() = std::move(*reply.file);
      res->prepare_payload();
      return write(res, keep);
    }
    auto res = std::make_shared<http::response<http::string_body>>(reply.status, 11);
    prepare_headers(*res, reply, keep);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    if (head_) {
      if (reply.file) res->content_length(reply.file->length);
      res->body().clear();
    }
    write(res, keep);
  }

  template <class Response>
  void prepare_headers(Response& res, const Reply& reply, bool keep) {
    for (const auto& f : reply.headers) res.insert(f.name_string(), f.value());
    res.set(http::field::server, "convoywatch");
    res.set("X-Request-Id", request_id_);
    add_cors_headers(cfg(), origin_, res.base());
    res.keep_alive(keep);
  }

  template <class Response>
  void write(std::shared_ptr<Response> res, bool keep) {
    stream_.expires_after(std::chrono::seconds(cfg().write_timeout_s));
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t bytes) {
          self->on_write(keep, ec, bytes);
        });
  }

  void on_write(bool keep, beast::error_code ec, std::size_t bytes) {
    finish(status_, bytes);
    if (ec) return close();
    // body_pending_ still set: the client sent (or is sending) a body the server never read.
    if (!keep) return body_pending_ ? linger_close() : close();
    do_read_header();
  }

  // Closing a socket with unread bytes in it makes the kernel answer with a reset, which can
  // destroy the answer before the client has read it (a 401 or 413 to a client still sending a
  // large body). So: no more sending (FIN), then read and drop what the client still sends, for
  // at most kLingerTime or kLingerBytes, then close.
  void linger_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    linger_until_ = SteadyClock::now() + kLingerTime;
    lingered_ = 0;
    if (linger_buffer_.empty()) linger_buffer_.resize(16 * 1024);
    do_linger();
  }

  void do_linger() {
    stream_.expires_at(linger_until_);
    stream_.async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerBytes) return self->close();
                              self->do_linger();
                            });
  }

  // --- Streaming responses (Server-Sent Events) ---

  void begin_stream_response(Reply reply) {
    stream_producer_ = std::move(reply.stream);
    auto res = std::make_shared<http::response<http::empty_body>>(reply.status, 11);
    prepare_headers(*res, reply, true);
    res->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    streaming_ = true;
    stream_.expires_after(std::chrono::seconds(cfg().write_timeout_s));
    http::async_write_header(
        stream_, *sr, [self = shared_from_this(), res, sr](beast::error_code ec, std::size_t n) {
          self->bytes_streamed_ += n;
          if (ec) return self->abort_stream();
          self->stream_.expires_never();
          self->sink_handle_ = std::make_shared<SessionSink>(
              self->weak_from_this(), static_cast<size_t>(self->cfg().event_queue_kb) * 1024);
          self->stream_producer_->start(self->sink_handle_);
          self->watch_client();
        });
  }

  // While a response streams, one read stays pending on the socket: it keeps the session alive
  // (the producer holds only a weak handle) and ends the stream as soon as the client leaves.
  // Whatever a client sends meanwhile is dropped. The raw socket, not the stream: its deadline
  // belongs to the writes (a client that stops reading is cut off by the write timeout).
  void watch_client() {
    if (watch_buffer_.empty()) watch_buffer_.resize(512);
    stream_.socket().async_read_some(
        net::buffer(watch_buffer_),
        net::bind_executor(stream_.get_executor(),
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (!self->streaming_) return;
                             if (ec) return self->abort_stream();
                             self->watch_client();
                           }));
  }

  void write_next_chunk() {
    if (out_.empty()) {
      if (!stream_ending_) return;
      writing_ = true;
      stream_.expires_after(std::chrono::seconds(cfg().write_timeout_s));
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](beast::error_code, std::size_t n) {
                         self->bytes_streamed_ += n;
                         self->stop_stream();
                         self->close();
                       });
      return;
    }
    writing_ = true;
    auto data = std::make_shared<std::string>(std::move(out_.front()));
    out_.pop_front();
    stream_.expires_after(std::chrono::seconds(cfg().write_timeout_s));
    net::async_write(stream_, http::make_chunk(net::buffer(*data)),
                     [self = shared_from_this(), data](beast::error_code ec, std::size_t n) {
                       self->writing_ = false;
                       self->bytes_streamed_ += n;
                       if (self->sink_handle_) self->sink_handle_->written(data->size());
                       if (ec) return self->abort_stream();
                       self->write_next_chunk();
                     });
  }

  // The stream is over (ended, failed or the server stops): the producer lets go, once.
  void stop_stream() {
    if (!streaming_) return;
    streaming_ = false;
    out_.clear();
    if (sink_handle_) sink_handle_->closed();
    if (stream_producer_) stream_producer_->stop();
    stream_producer_.reset();
    sink_handle_.reset();
    finish(status_, bytes_streamed_);
  }

  // Metrics and the access-log line, once per request.
  void finish(int status, std::size_t bytes_out) {
    if (!started_) return;
    started_ = false;
    double seconds = std::chrono::duration<double>(SteadyClock::now() - begin_).count();
    std::string route = route_ ? route_->pattern : "unmatched";
    srv_.metrics.request_finished(route, method_, status, seconds);
    // Its fields are a JSON object built for nothing when the level is above info.
    if (!log::enabled(log::Level::kInfo)) return;
    log::info("request", {{"request_id", request_id_},
                          {"remote", remote_},
                          {"method", method_},
                          {"path", path_},
                          {"route", route},
                          {"status", status},
                          {"bytes_out", bytes_out},
                          {"duration_ms", std::round(seconds * 1e5) / 100}});
  }

  void close() {
    stop_stream();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  static constexpr size_t kStreamChunk = 1 << 20;
  static constexpr std::chrono::seconds kLingerTime{5};
  static constexpr size_t kLingerBytes = 4u << 20;

  beast::tcp_stream stream_;
  Server::Impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> body_parser_;
  std::optional<http::request_parser<http::buffer_body>> stream_parser_;
  std::vector<char> stream_buffer_;
  std::unique_ptr<BodySink> sink_;
  std::shared_ptr<RequestContext> ctx_;
  int64_t body_limit_ = 0;
  std::optional<Reply> too_large_;  // Admission::after_auth
  std::string remote_;
  std::string request_id_;
  std::string origin_;
  std::string method_;
  std::string path_;
  std::multimap<std::string, std::string> query_;
  std::map<std::string, std::string> params_;
  const Route* route_ = nullptr;
  SteadyClock::time_point begin_;
  int status_ = 0;
  bool idle_ = true;
  bool started_ = false;
  bool keep_alive_ = true;
  bool head_ = false;
  bool body_pending_ = false;
  bool close_after_ = false;
  // Lingering close.
  std::vector<char> linger_buffer_;
  SteadyClock::time_point linger_until_;
  size_t lingered_ = 0;
  // A streaming response.
  bool streaming_ = false;
  bool stream_ending_ = false;
  bool writing_ = false;
  std::deque<std::string> out_;
  std::shared_ptr<ResponseStream> stream_producer_;
  std::shared_ptr<SessionSink> sink_handle_;
  size_t bytes_streamed_ = 0;
  std::vector<char> watch_buffer_;
};

bool SessionSink::push(std::string data) {
  if (!open_.load()) return false;
  const size_t n = data.size();
  if (queued_.fetch_add(n) + n > limit_) {
    open_.store(false);
    if (auto s = session_.lock()) {
      net::post(s->stream_executor(), [s] { s->abort_stream(); });
    }
    return false;
  }
  auto s = session_.lock();
  if (!s) {
    open_.store(false);
    return false;
  }
  net::post(s->stream_executor(),
            [s, data = std::move(data)]() mutable { s->stream_push(std::move(data)); });
  return true;
}

void SessionSink::end() {
  if (!open_.exchange(false)) return;
  if (auto s = session_.lock()) net::post(s->stream_executor(), [s] { s->end_stream(); });
}

void Server::Impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      beast::error_code opt_ec;
      socket.set_option(tcp::no_delay(true), opt_ec);
      std::make_shared<Session>(std::move(socket), *this)->start();
    } else {
      log::warn("accept failed", {{"error", ec.message()}});
    }
    do_accept();
  });
}

// Housekeeping on the blocking pool every ten minutes: expired resumable uploads go, and events
// older than the retention.
void Server::Impl::schedule_maintenance(std::chrono::seconds delay) {
  maintenance_timer.expires_after(delay);
  maintenance_timer.async_wait([this](beast::error_code ec) {
    if (ec || draining) return;
    net::post(blocking, [this] {
      expire_uploads(db, media);
      if (auto pruned = events->prune(); !pruned.ok()) {
        log::warn("cannot prune old events", {{"error", pruned.error().to_string()}});
      }
    });
    schedule_maintenance(std::chrono::minutes(10));
  });
}

void Server::Impl::begin_drain() {
  if (draining.exchange(true)) return;
  log::info("shutting down: no new connections, finishing requests in flight",
            {{"timeout_s", config.server.shutdown_timeout_s}});
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  maintenance_timer.cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu);
    for (auto& [p, w] : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->drain();
  drain_deadline = SteadyClock::now() + std::chrono::seconds(config.server.shutdown_timeout_s);
  check_drained();
}

void Server::Impl::check_drained() {
  size_t open;
  {
    std::lock_guard lock(sessions_mu);
    open = sessions.size();
  }
  if (open == 0 || SteadyClock::now() >= drain_deadline) {
    if (open > 0)
      log::warn("shutdown timeout: closing connections still open", {{"connections", open}});
    ioc.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(50));
  drain_timer.async_wait([this](beast::error_code) { check_drained(); });
}

Server::Server(const Config& config, store::Database& db, store::MediaStore& media, Router router,
               ImageryBackend imagery)
    : impl_(std::make_unique<Impl>(config, db, media, std::move(router), std::move(imagery))) {}

Server::~Server() = default;

Status Server::bind() {
  const std::string& listen = impl_->config.server.listen;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Error(Code::kInvalidArgument, "[server] listen must be address:port, got " + listen,
                 "server.listen");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  int port = -1;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
  }
  if (ec || port < 0 || port > 65535) {
    return Error(Code::kInvalidArgument, "[server] listen must be address:port, got " + listen,
                 "server.listen");
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error(Code::kUnavailable, "cannot listen on " + listen + ": " + ec.message(),
                 "server.listen");
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  Impl& impl = *impl_;
  impl.signals.async_wait([&impl](beast::error_code ec, int sig) {
    if (ec) return;
    log::info("signal received", {{"signal", sig}});
    impl.begin_drain();
  });
  impl.do_accept();
  impl.schedule_maintenance(std::chrono::seconds(0));
  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads_for(impl.config.server); ++i)
    threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.ioc.run();
  for (auto& t : threads) t.join();
  impl.blocking.join();
  log::info("server stopped");
}

void Server::stop() {
  net::post(impl_->ioc, [this] { impl_->begin_drain(); });
}

}  // namespace cw::server
