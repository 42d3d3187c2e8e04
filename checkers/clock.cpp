#include "checkers/clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace lvsd::checkers {

namespace {

class AsioTimer final : public Timer {
 public:
  AsioTimer(boost::asio::io_context& io, Duration slack) : timer_(io), slack_(slack) {}
  ~AsioTimer() override {
    *alive_ = false;
    cancel();
  }

  void arm(Duration after, std::function<void()> fire) override {
    cancel();
    timer_.expires_at(align_up(SteadyClock::now() + after, slack_));
    // The generation guards against a completion already queued when we were
    // cancelled or re-armed: it must not fire.
    uint64_t gen = ++generation_;
    timer_.async_wait([this, alive = alive_, gen, fire = std::move(fire)](auto ec) {
      if (ec || !*alive || gen != generation_) return;
      fire();
    });
  }
  void cancel() override {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  Duration slack_;
  uint64_t generation_ = 0;
  // Destruction cancels the wait, but a completion can already be queued.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  AsioTimer(const AsioTimer&) = delete;
  AsioTimer& operator=(const AsioTimer&) = delete;
};

}  // namespace

TimePoint align_up(TimePoint t, Duration grid) {
  if (grid <= Duration::zero()) return t;
  const auto since = t.time_since_epoch();
  const auto rem = since % grid;
  return rem == Duration::zero() ? t : t + (grid - rem);
}

std::unique_ptr<Timer> AsioClock::make_timer() {
  return std::make_unique<AsioTimer>(io_, slack_);
}

class ManualClock::ManualTimer final : public Timer {
 public:
  explicit ManualTimer(ManualClock& clock) : clock_(clock) {}
  ~ManualTimer() override { cancel(); }
  void arm(Duration after, std::function<void()> fire) override {
    cancel();
    key_ = Key{clock_.now_ + after, clock_.seq_++};
    clock_.queue_.emplace(*key_, [this, fire = std::move(fire)] {
      key_.reset();
      fire();
    });
  }
  void cancel() override {
    if (key_) clock_.queue_.erase(*key_);
    key_.reset();
  }

 private:
  ManualClock& clock_;
  std::optional<Key> key_;
};

std::unique_ptr<Timer> ManualClock::make_timer() {
  return std::make_unique<ManualTimer>(*this);
}

void ManualClock::advance(Duration by) {
  advance_to(now_ + by);
}

void ManualClock::advance_to(TimePoint t) {
  while (!queue_.empty() && queue_.begin()->first.first <= t) {
    auto node = queue_.extract(queue_.begin());
    now_ = std::max(now_, node.key().first);
    node.mapped()();
  }
  now_ = std::max(now_, t);
}

std::optional<TimePoint> ManualClock::next_deadline() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

}  // namespace lvsd::checkers
