// Loop::watch / rewatch / unwatch (include/sanstls/adapters/epoll.h): plain
// descriptors beside the TLS connections, for callers that move bytes the
// engine does not see (a CONNECT proxy's upstream sockets, timers).
#include <sys/epoll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "sanstls/adapters/epoll.h"

namespace sanstls::epoll {
namespace {

Error epoll_ctl_error(const char* what, int err) {
  char text[Error::kMessageCapacity];
  std::snprintf(text, sizeof text, "%s: epoll_ctl (%s)", what, std::strerror(err));
  return Error(ErrorCode::transport_failed, Stage::internal, text).with_system_error(err);
}

}  // namespace

Result<uint64_t> Loop::watch(int fd, uint32_t events, WatchCallback on_ready) {
  if (fd < 0 || !on_ready) {
    return Error(ErrorCode::invalid_argument, Stage::config, "watch: no descriptor or no callback");
  }
  const uint64_t id = next_watch_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = kWatchTag | id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return epoll_ctl_error("watch", errno);
  auto entry = std::make_shared<Watch>();
  entry->fd = fd;
  entry->on_ready = std::move(on_ready);
  watches_.emplace(id, std::move(entry));
  return id;
}

Error Loop::rewatch(uint64_t watch_id, uint32_t events) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) {
    return Error(ErrorCode::invalid_argument, Stage::config, "rewatch: no such watch");
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = kWatchTag | watch_id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second->fd, &ev) != 0) {
    return epoll_ctl_error("rewatch", errno);
  }
  return Error();
}

void Loop::unwatch(uint64_t watch_id) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  watches_.erase(it);  // a callback running now holds its own reference
}

void Loop::watch_ready(uint64_t watch_id, uint32_t events) {
  auto it = watches_.find(watch_id);
  if (it == watches_.end()) return;  // unwatched earlier in this batch
  const std::shared_ptr<Watch> entry = it->second;
  entry->on_ready(events);
}

}  // namespace sanstls::epoll
