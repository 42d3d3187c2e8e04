// The typed configuration of lvsd: one value type per YAML section.
//
// Produced only by the loader (daemon/config/loader.hpp), which validates the
// whole file and resolves every default and reference, so consumers read plain
// values: a RealServer's `method` and `check` are already the effective ones,
// a Service's `check` is the check itself, not a name. Nothing outside
// daemon/config/ ever sees YAML. See docs/config.md for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace lvsd::config {

using Duration = std::chrono::milliseconds;
using Address = boost::asio::ip::address;
// A command line as argv. In YAML either a list or a string split on whitespace.
using Command = std::vector<std::string>;

// ---------------------------------------------------------------- global

enum class LogTarget { console, syslog, journald };
enum class LogLevel { trace, debug, info, warn, error, critical, off };

struct StatusSocket {
  std::string path = "/run/lvsd/lvsd.sock";
  unsigned mode = 0660;  // YAML: octal string, "0660"
  std::string group = "root";
  bool operator==(const StatusSocket&) const = default;
};

struct Logging {
  LogTarget target = LogTarget::console;
  LogLevel level = LogLevel::info;
  bool operator==(const Logging&) const = default;
};

struct Global {
  StatusSocket status_socket;
  Logging logging;
  std::string script_user = "nobody";  // user for misc checks, VRRP scripts, notify
  std::string pid_file;                // "" = no pid file (systemd tracks the main pid)
  std::string router_id;               // "" = use the hostname at runtime
  bool operator==(const Global&) const = default;
};

// ------------------------------------------------------------ forwarding

enum class ForwardingBackend { automatic, ipvs, userspace };  // YAML: auto|ipvs|userspace
enum class OnStop { keep, flush };
enum class ForeignServices { keep, remove };
enum class Steering { automatic, iptables, nftables };  // YAML: auto|iptables|nftables

struct Timeouts {
  Duration tcp = std::chrono::seconds(900);
  Duration tcp_fin = std::chrono::seconds(120);
  Duration udp = std::chrono::seconds(300);
  bool operator==(const Timeouts&) const = default;
};

struct Userspace {
  uint16_t queue_base = 100;  // first NFQUEUE number
  unsigned queues = 0;        // of each kind (GSO, plain); 0 = 1
  uint32_t queue_maxlen = 4096;
  bool fail_open = true;  // accept packets when the queue is full instead of dropping
  uint32_t max_connections = 1048576;
  Duration syn_recv_timeout = std::chrono::seconds(10);
  Steering steering = Steering::automatic;
  bool operator==(const Userspace&) const = default;
};

struct Forwarding {
  ForwardingBackend backend = ForwardingBackend::automatic;
  Timeouts timeouts;
  Duration reconcile_interval = std::chrono::seconds(30);
  OnStop on_stop = OnStop::keep;
  ForeignServices foreign_services = ForeignServices::keep;
  Userspace userspace;
  bool operator==(const Forwarding&) const = default;
};

// ---------------------------------------------------------------- checks

enum class CheckType { tcp, http, https, ssl, misc, dns, smtp, udp, icmp };
enum class DnsType { A, AAAA, CNAME, MX, NS, TXT, SOA, PTR, SRV };

struct StatusRange {
  uint16_t from = 200;
  uint16_t to = 299;
  bool operator==(const StatusRange&) const = default;
};

struct HttpOptions {  // http, https
  std::string method = "GET";
  std::string path = "/";
  std::string host;  // "" = the address checked
  std::map<std::string, std::string> headers;
  std::string username;
  std::string password;
  std::vector<StatusRange> status = {StatusRange{200, 299}};
  std::string body_regex;   // "" = none; validated with std::regex (ECMAScript)
  std::string body_digest;  // "" = none; MD5 of the body, lowercase hex
  uint32_t max_body = 1048576;
  bool follow_redirects = false;
  unsigned max_redirects = 5;
  bool operator==(const HttpOptions&) const = default;
};

struct TlsOptions {  // https, ssl
  std::string sni;   // "" = the host, else none
  bool verify_peer = true;
  std::string ca_file;  // "" = system store
  std::string client_cert;
  std::string client_key;
  Duration expiry_warning = std::chrono::hours(24 * 14);  // ssl only
  bool operator==(const TlsOptions&) const = default;
};

struct MiscOptions {
  Command command;
  std::string user;  // resolved: global.script_user when absent
  bool dynamic_weight = false;
  bool operator==(const MiscOptions&) const = default;
};

struct DnsOptions {
  std::string query_name = ".";
  DnsType query_type = DnsType::SOA;
  std::vector<std::string> expect;  // answers that must all be present; empty = any answer
  bool operator==(const DnsOptions&) const = default;
};

struct Check {
  std::string name;
  CheckType type = CheckType::tcp;
  Duration interval = std::chrono::seconds(5);
  Duration fast_interval = std::chrono::seconds(5);  // resolved: = interval when absent
  Duration timeout = std::chrono::seconds(3);
  unsigned rise = 2;
  unsigned fall = 3;
  bool alpha = false;
  std::optional<Address> connect_address;  // none = the realserver's address
  uint16_t connect_port = 0;               // 0 = the realserver's port
  std::optional<Address> bind_address;
  std::string bind_interface;
  uint32_t fwmark = 0;
  // tcp, udp: payload to send and a regex the reply must match ("" = none)
  std::string send;
  std::string expect;
  HttpOptions http;  // http, https
  TlsOptions tls;    // https, ssl
  MiscOptions misc;
  DnsOptions dns;
  std::string helo_name = "lvsd";  // smtp
  bool operator==(const Check&) const = default;
};

// -------------------------------------------------------------- services

enum class Protocol { tcp, udp, sctp };
enum class Family { inet, inet6 };
enum class Method { nat, dr, tun };
enum class TunnelType { ipip, gue, gre };
enum class TunnelChecksum { none, remote, local };

struct Tunnel {
  TunnelType type = TunnelType::ipip;
  uint16_t port = 0;  // gue only (required there)
  TunnelChecksum checksum = TunnelChecksum::none;
  bool operator==(const Tunnel&) const = default;
};

struct Persistence {
  Duration timeout = std::chrono::seconds(300);
  boost::asio::ip::address_v4 netmask = boost::asio::ip::address_v4::broadcast();  // inet
  unsigned prefix = 128;                                                           // inet6
  bool operator==(const Persistence&) const = default;
};

struct Quorum {
  uint32_t weight = 1;  // sum of healthy RS weights needed for the service to be up
  uint32_t hysteresis = 0;
  Command on_up;
  Command on_down;
  bool operator==(const Quorum&) const = default;
};

struct SorryServer {
  Address address;
  uint16_t port = 0;            // resolved: the service port when absent
  Method method = Method::nat;  // resolved: the service method when absent
  bool operator==(const SorryServer&) const = default;
};

struct RealServer {
  Address address;
  uint16_t port = 0;  // resolved: the service port; 0 only for fwmark services
  uint32_t weight = 1;
  Method method = Method::nat;   // resolved: the service method when absent
  uint32_t upper_threshold = 0;  // 0 = no limit
  uint32_t lower_threshold = 0;  // 0 = none
  std::optional<Check> check;    // resolved: the override, else the service's check
  bool enabled = true;
  std::string key() const;  // "192.0.2.21:80", "[2001:db8::21]:80"
  bool operator==(const RealServer&) const = default;
};

struct Service {
  std::string name;  // resolved: key() when absent
  std::optional<Address> address;
  uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  uint32_t fwmark = 0;           // 0 = an address service
  Family family = Family::inet;  // resolved from the address for address services
  std::string scheduler = "wlc";
  std::vector<std::string> scheduler_flags;
  bool one_packet = false;
  std::optional<Persistence> persistence;
  Method method = Method::nat;
  std::optional<Tunnel> tunnel;
  Quorum quorum;
  std::optional<SorryServer> sorry_server;
  std::optional<Check> check;
  bool inhibit_on_failure = false;
  Duration slow_start{0};
  std::vector<RealServer> realservers;

  // "tcp 192.0.2.200:80", "udp [2001:db8::1]:53", "fwmark 7 inet6"
  std::string key() const;
  bool operator==(const Service&) const = default;
};

// ------------------------------------------------------------------ vrrp

enum class InitialState { backup, master };

struct Prefix {
  Address address;
  unsigned length = 32;
  std::string str() const;  // "192.0.2.0/24"
  bool operator==(const Prefix&) const = default;
};

struct VirtualAddress {
  Address address;
  unsigned prefix = 32;  // resolved: 32 / 128 when absent
  std::string device;    // resolved: the instance interface when absent
  std::string label;
  std::string scope = "global";  // global|site|link|host
  bool operator==(const VirtualAddress&) const = default;
};

struct VirtualRoute {
  Prefix to;
  std::optional<Address> via;
  std::string device;  // "" = the route lookup decides
  uint32_t table = 0;  // 0 = main
  bool operator==(const VirtualRoute&) const = default;
};

struct VrrpAuth {
  std::string type = "pass";
  std::string password;
  bool operator==(const VrrpAuth&) const = default;
};

struct Garp {
  unsigned count = 5;
  Duration interval{0};  // between packets of one burst
  Duration repeat_delay = std::chrono::seconds(5);
  Duration refresh{0};  // 0 = no periodic refresh
  bool operator==(const Garp&) const = default;
};

struct TrackEntry {
  std::string name;
  int weight = 0;  // 0 = failure puts the instance in FAULT
  bool operator==(const TrackEntry&) const = default;
};

struct Track {
  std::vector<TrackEntry> interfaces;
  std::vector<TrackEntry> scripts;
  std::vector<TrackEntry> files;
  std::vector<TrackEntry> services;
  bool operator==(const Track&) const = default;
};

struct Notify {
  Command master;
  Command backup;
  Command fault;
  Command stop;
  bool operator==(const Notify&) const = default;
};

struct VrrpInstance {
  std::string name;
  std::string interface;
  uint8_t vrid = 0;
  unsigned version = 2;
  uint8_t priority = 100;
  Duration advert_interval = std::chrono::seconds(1);
  bool preempt = true;
  Duration preempt_delay{0};
  bool accept = true;  // RFC 5798 Accept_Mode; true is keepalived's default without vrrp_strict
  InitialState initial_state = InitialState::backup;
  std::vector<VirtualAddress> virtual_addresses;
  std::vector<VirtualRoute> virtual_routes;
  std::optional<Address> unicast_source;
  std::vector<Address> unicast_peers;
  std::optional<VrrpAuth> auth;
  bool v3_checksum_pseudo_header = true;
  Garp garp;
  bool use_vmac = false;
  std::string vmac_name;  // the macvlan's name; "" = vrrp.<vrid> (keepalived's)
  Track track;
  Notify notify;
  Family family() const;  // of the virtual addresses (inet when none)
  bool operator==(const VrrpInstance&) const = default;
};

struct VrrpSyncGroup {
  std::string name;
  std::vector<std::string> instances;
  Notify notify;
  bool operator==(const VrrpSyncGroup&) const = default;
};

struct VrrpScript {
  std::string name;
  Command command;
  Duration interval = std::chrono::seconds(1);
  Duration timeout = std::chrono::seconds(1);  // resolved: = interval when absent
  int weight = 0;
  unsigned rise = 1;
  unsigned fall = 1;
  std::string user;  // resolved: global.script_user when absent
  bool operator==(const VrrpScript&) const = default;
};

struct VrrpTrackFile {
  std::string name;
  std::string path;
  int weight = 1;  // multiplier of the integer read from the file
  bool operator==(const VrrpTrackFile&) const = default;
};

struct Vrrp {
  std::vector<VrrpInstance> instances;
  std::vector<VrrpSyncGroup> sync_groups;
  std::vector<VrrpScript> scripts;
  std::vector<VrrpTrackFile> files;
  bool operator==(const Vrrp&) const = default;
};

// ------------------------------------------------------------------ sync

enum class SyncRoleKind { follow, master, backup, both };

struct SyncRole {
  SyncRoleKind kind = SyncRoleKind::follow;
  std::string follow;  // the VRRP instance followed (kind == follow)
  bool operator==(const SyncRole&) const = default;
};

struct SyncAuth {
  std::string key_file;
  bool operator==(const SyncAuth&) const = default;
};

struct Sync {
  std::string interface;
  uint8_t syncid = 0;
  Address group = boost::asio::ip::make_address_v4("224.0.0.81");
  uint16_t port = 8848;
  uint8_t ttl = 1;
  uint16_t maxlen = 1472;
  SyncRole role;
  unsigned threshold = 3;
  unsigned period = 50;
  bool full_resync = false;
  std::optional<SyncAuth> auth;
  bool operator==(const Sync&) const = default;
};

// ---------------------------------------------------------------- config

struct Config {
  Global global;
  Forwarding forwarding;
  std::vector<Service> services;
  std::vector<Check> checks;
  Vrrp vrrp;
  std::optional<Sync> sync;
  bool operator==(const Config&) const = default;
};

// The YAML spelling of each enum value.
std::string_view to_string(LogLevel v);
std::string_view to_string(LogTarget v);
std::string_view to_string(ForwardingBackend v);
std::string_view to_string(OnStop v);
std::string_view to_string(ForeignServices v);
std::string_view to_string(Steering v);
std::string_view to_string(CheckType v);
std::string_view to_string(DnsType v);
std::string_view to_string(Protocol v);
std::string_view to_string(Family v);
std::string_view to_string(Method v);
std::string_view to_string(TunnelType v);
std::string_view to_string(TunnelChecksum v);
std::string_view to_string(InitialState v);
std::string_view to_string(SyncRoleKind v);

// "1s", "250ms", "5m", "1h30m", "14d": the largest units that are exact.
std::string format_duration(Duration d);
// "192.0.2.1:80", "[2001:db8::1]:80"
std::string format_endpoint(const Address& a, uint16_t port);

}  // namespace lvsd::config
