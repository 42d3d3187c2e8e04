#include "forwarding/schedulers/locality.hpp"

#include <algorithm>

namespace lvsd::forwarding::schedulers {

namespace {

constexpr std::size_t kMaxCacheEntries = 1024 * 16;  // IP_VS_LBLC_TAB_SIZE * 16
constexpr auto kEntryTimeout = std::chrono::minutes(6);

// __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: weighted least connections
// over the whole service.
std::optional<std::size_t> wlc(const DestList& dests) {
  const std::size_t n = dests.size();
  std::size_t i = 0;
  while (i < n && !dests[i].usable())
    ++i;
  if (i == n) return std::nullopt;
  std::size_t least = i;
  int64_t loh = dests[i].overhead();
  for (++i; i < n; ++i) {
    const Dest& d = dests[i];
    if (d.overloaded) continue;
    const int64_t doh = d.overhead();
    if (loh * d.weight > doh * dests[least].weight) {
      least = i;
      loh = doh;
    }
  }
  return least;
}

// is_overloaded() of lblc/lblcr (not the threshold flag).
bool lblc_overloaded(const Dest& dest, const DestList& dests) {
  if (dest.active_conns > dest.weight) {
    for (const Dest& d : dests)
      if (int64_t{d.active_conns} * 2 < d.weight) return true;
  }
  return false;
}

template <typename Map>
void expire_cache(Map& cache, Clock::time_point now, Clock::duration expiration) {
  const bool full = cache.size() > kMaxCacheEntries;
  for (auto it = cache.begin(); it != cache.end();) {
    const auto age = now - it->second.lastuse;
    if (age >= expiration || (full && age >= kEntryTimeout))
      it = cache.erase(it);
    else
      ++it;
  }
}

}  // namespace

std::optional<std::size_t> LocalityLeastConnection::pick(const DestList& dests,
                                                         const Packet& packet) {
  auto it = cache_.find(packet.daddr);
  if (it != cache_.end() && packet.now - it->second.lastuse >= expiration_) {
    cache_.erase(it);
    it = cache_.end();
  }
  if (it != cache_.end()) {
    it->second.lastuse = packet.now;
    // A dest removed from the service is "not available" (in the trash).
    if (auto i = dests.find(it->second.dest)) {
      const Dest& d = dests[*i];
      if (d.weight > 0 && !lblc_overloaded(d, dests)) return i;
    }
  }
  const auto dest = wlc(dests);
  if (!dest) return std::nullopt;
  // ip_vs_lblc_new(): keep an entry that already names this dest.
  if (it == cache_.end())
    cache_.emplace(packet.daddr, Entry{dests[*dest].key, packet.now});
  else if (!(it->second.dest == dests[*dest].key))
    it->second = Entry{dests[*dest].key, packet.now};
  return dest;
}

void LocalityLeastConnection::expire(Clock::time_point now) {
  expire_cache(cache_, now, expiration_);
}

void LocalityLeastConnectionReplication::dest_removed(const DestList&, std::size_t,
                                                      const Dest& removed) {
  for (auto& [addr, entry] : cache_)
    std::erase(entry.set, removed.key);
}

std::optional<std::size_t> LocalityLeastConnectionReplication::pick(const DestList& dests,
                                                                    const Packet& packet) {
  auto it = cache_.find(packet.daddr);
  if (it != cache_.end() && packet.now - it->second.lastuse >= expiration_) {
    cache_.erase(it);
    it = cache_.end();
  }
  if (it == cache_.end()) {
    const auto dest = wlc(dests);
    if (!dest) return std::nullopt;
    cache_.emplace(packet.daddr, Entry{{dests[*dest].key}, packet.now, packet.now});
    return dest;
  }
  Entry& en = it->second;
  en.lastuse = packet.now;

  // ip_vs_dest_set_min(): the first usable member, then any non-overloaded
  // member with a strictly lower overhead/weight.
  std::optional<std::size_t> dest;
  {
    std::size_t k = 0;
    for (; k < en.set.size(); ++k) {
      auto i = dests.find(en.set[k]);
      if (i && dests[*i].usable()) {
        dest = i;
        break;
      }
    }
    if (dest) {
      int64_t loh = dests[*dest].overhead();
      for (++k; k < en.set.size(); ++k) {
        auto i = dests.find(en.set[k]);
        if (!i || dests[*i].overloaded) continue;
        const int64_t doh = dests[*i].overhead();
        if (loh * dests[*i].weight > doh * dests[*dest].weight) {
          dest = i;
          loh = doh;
        }
      }
    }
  }

  // More than one member and not modified for the expiration: drop the most
  // loaded one (ip_vs_dest_set_max(): weight > 0 members only).
  if (en.set.size() > 1 && packet.now - en.lastmod > expiration_) {
    std::optional<std::size_t> most_k;
    int64_t moh = 0;
    int32_t mw = 0;
    for (std::size_t k = 0; k < en.set.size(); ++k) {
      auto i = dests.find(en.set[k]);
      if (!i || dests[*i].weight <= 0) continue;
      const int64_t doh = dests[*i].overhead();
      if (!most_k || moh * dests[*i].weight < doh * mw) {
        most_k = k;
        moh = doh;
        mw = dests[*i].weight;
      }
    }
    if (most_k) {
      en.set.erase(en.set.begin() + static_cast<std::ptrdiff_t>(*most_k));
      en.lastmod = packet.now;
    }
  }

  if (dest && !lblc_overloaded(dests[*dest], dests)) return dest;

  dest = wlc(dests);
  if (!dest) return std::nullopt;
  const DestKey& key = dests[*dest].key;
  if (std::find(en.set.begin(), en.set.end(), key) == en.set.end()) {
    en.set.insert(en.set.begin(), key);
    en.lastmod = packet.now;
  }
  return dest;
}

void LocalityLeastConnectionReplication::expire(Clock::time_point now) {
  expire_cache(cache_, now, expiration_);
}

std::vector<DestKey> LocalityLeastConnectionReplication::set_of(const Address& daddr) const {
  auto it = cache_.find(daddr);
  return it == cache_.end() ? std::vector<DestKey>{} : it->second.set;
}

}  // namespace lvsd::forwarding::schedulers
