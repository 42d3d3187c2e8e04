// Error values of the ip_vs wire layer and a small expected-like Result.
//
// Nothing in forwarding/ipvs/ throws for bad input: builders, parsers and the
// socket return a Result holding either the value or an Error. (std::expected
// is C++23; this is the subset we need, with the same spelling.)
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lvsd::forwarding::ipvs {

struct Error {
  enum class Kind {
    kTruncated,         // a header or attribute runs past the end of the buffer
    kBadLength,         // an attribute or header has the wrong size for its type
    kMissingAttribute,  // a required attribute is absent
    kUnexpected,        // wrong message type, genl command, or reply shape
    kKernel,            // the kernel answered NLMSG_ERROR (errno in kernel_errno)
    kInvalidArgument,   // a builder was given a value the wire cannot carry
    kNoFamily,          // the kernel has no "IPVS" generic netlink family
    kIo,                // socket-level failure (errno in kernel_errno when known)
    kTimeout,           // no complete reply within the receive timeout
  };
  Kind kind = Kind::kUnexpected;
  int kernel_errno = 0;  // positive errno for kKernel / kIo, else 0
  std::string message;

  bool operator==(const Error&) const = default;
};

const char* to_string(Error::Kind kind);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace lvsd::forwarding::ipvs
