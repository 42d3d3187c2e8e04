#pragma once
// Human renderings of status-socket answers for lvsctl. Pure: JSON in, text out.
#include <string>

#include <nlohmann/json.hpp>

namespace lvsd::ctl {

struct ServicesOptions {
  bool stats = false;  // like ipvsadm --stats: connections, packets, bytes
  bool rate = false;   // like ipvsadm --rate: per-second rates
};

std::string render_status(const nlohmann::json& data);
std::string render_services(const nlohmann::json& data, const ServicesOptions& options);
std::string render_forwarding(const nlohmann::json& data);
std::string render_checks(const nlohmann::json& data);
std::string render_vrrp(const nlohmann::json& data);
std::string render_sync(const nlohmann::json& data);
std::string render_config(const nlohmann::json& data);
std::string render_reload(const nlohmann::json& data);
std::string render_event(const nlohmann::json& event);
// The `realserver` command's answer in one line.
std::string render_realserver(const nlohmann::json& data);

}  // namespace lvsd::ctl
