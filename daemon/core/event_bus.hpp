#pragma once
// The daemon's event stream: reloads now, health and VRRP transitions later.
// Events are JSON objects {"seq":N,"time":"...","type":"...", ...fields};
// `seq` increases by one per event so a subscriber can see that it missed some.
// Single-threaded: publish() and subscribe() run on the control io_context;
// other threads post their events there.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace lvsd::core {

class EventBus {
 public:
  using Handler = std::function<void(const nlohmann::json& event)>;

  // The returned token keeps the subscription alive; dropping it unsubscribes.
  using Subscription = std::shared_ptr<void>;
  [[nodiscard]] Subscription subscribe(Handler handler);

  // Stamps seq and time onto `fields` (which must be an object) and delivers it.
  void publish(const std::string& type, nlohmann::json fields = nlohmann::json::object());

  std::uint64_t last_seq() const { return seq_; }
  std::size_t subscriber_count() const;

 private:
  struct Entry {
    Handler handler;
  };
  std::uint64_t seq_ = 0;
  std::vector<std::weak_ptr<Entry>> subscribers_;
};

// RFC 3339 UTC timestamp with milliseconds, for events and status.
std::string utc_timestamp();

}  // namespace lvsd::core
