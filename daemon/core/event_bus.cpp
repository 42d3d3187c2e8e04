#include "daemon/core/event_bus.hpp"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace lvsd::core {

EventBus::Subscription EventBus::subscribe(Handler handler) {
  auto entry = std::make_shared<Entry>(Entry{std::move(handler)});
  subscribers_.push_back(entry);
  return entry;
}

void EventBus::publish(const std::string& type, nlohmann::json fields) {
  nlohmann::json event = nlohmann::json::object();
  event["seq"] = ++seq_;
  event["time"] = utc_timestamp();
  event["type"] = type;
  for (auto& [k, v] : fields.items())
    event[k] = v;
  // Copy first: a handler may unsubscribe (or subscribe) while we deliver.
  auto targets = subscribers_;
  for (auto& weak : targets) {
    if (auto entry = weak.lock()) entry->handler(event);
  }
  std::erase_if(subscribers_, [](const auto& w) { return w.expired(); });
}

std::size_t EventBus::subscriber_count() const {
  std::size_t n = 0;
  for (const auto& w : subscribers_)
    n += w.expired() ? 0 : 1;
  return n;
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace lvsd::core
