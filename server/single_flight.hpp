// One load per key at a time. A caller that asks for a key while another call is loading it
// waits for that call and gets its result, instead of doing the same work again: a popular
// vector tile that left the cache under load used to start one database build per waiting
// request (64 connections asking for an 11-second tile made 64 builds, and the pool answered
// nothing for minutes). Thread-safe; the waiting blocks the calling thread (callers run on the
// blocking pool, where they would otherwise block on the database).
#pragma once

#include <cstddef>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace cw::server {

template <typename Value>
class SingleFlight {
 public:
  // load() for `key` unless a call for `key` is running, in which case its result (or its
  // exception) is returned when it ends. `*joined` tells which happened. Value must be copyable:
  // every caller of a flight gets a copy.
  template <typename Load>
  Value run(const std::string& key, Load&& load, bool* joined = nullptr) {
    std::unique_lock lock(mu_);
    if (auto it = flights_.find(key); it != flights_.end()) {
      ++it->second.waiters;
      std::shared_future<Value> result = it->second.result;
      lock.unlock();
      if (joined != nullptr) *joined = true;
      return result.get();
    }
    std::promise<Value> promise;
    flights_.emplace(key, Flight{promise.get_future().share(), 0});
    lock.unlock();
    if (joined != nullptr) *joined = false;
    try {
      Value value = std::forward<Load>(load)();
      promise.set_value(value);
      finish(key);
      return value;
    } catch (...) {
      promise.set_exception(std::current_exception());
      finish(key);
      throw;
    }
  }

  // Callers waiting for the flight of `key` now (0 when none runs); for tests.
  size_t waiters(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = flights_.find(key);
    return it == flights_.end() ? 0 : it->second.waiters;
  }

 private:
  struct Flight {
    std::shared_future<Value> result;
    size_t waiters;
  };

  void finish(const std::string& key) {
    std::lock_guard lock(mu_);
    flights_.erase(key);
  }

  mutable std::mutex mu_;
  std::map<std::string, Flight> flights_;  // guarded by mu_
};

}  // namespace cw::server
