#pragma once
// Certificates made at test time with the OpenSSL APIs: a CA, leaves signed by
// it or self-signed, with chosen names and validity (expired, not yet valid).
// EC P-256 keys: fast to make.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lvsd::checkers::test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

struct Cert {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;

  std::string cert_pem() const {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert.get());
    return drain(b);
  }
  std::string key_pem() const {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    return drain(b);
  }

 private:
  static std::string drain(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
  }
};

struct CertSpec {
  std::string cn = "lvsd test";
  // subjectAltName entries: "DNS:www.example.test", "IP:127.0.0.1".
  std::vector<std::string> san;
  long not_before_days = -1;  // relative to now
  long not_after_days = 30;
  bool ca = false;
};

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("X509V3_EXT_conf_nid failed for " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signed by `issuer`, or self-signed when it is null.
inline Cert make_cert(const CertSpec& spec, const Cert* issuer = nullptr) {
  static long serial = 1;
  Cert out;
  out.key.reset(EVP_EC_gen("P-256"), PkeyFree{});
  if (!out.key) throw std::runtime_error("EVP_EC_gen failed");
  out.cert.reset(X509_new(), X509Free{});
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c), spec.not_before_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(c), spec.not_after_days * 86400);
  X509_set_pubkey(c, out.key.get());
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : c;
  X509_set_issuer_name(c, X509_get_subject_name(issuer_cert));
  if (spec.ca) {
    add_ext(c, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c, issuer_cert, NID_basic_constraints, "CA:FALSE");
  }
  add_ext(c, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(c, issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.san.empty()) {
    std::string san;
    for (const auto& s : spec.san)
      san += (san.empty() ? "" : ",") + s;
    add_ext(c, issuer_cert, NID_subject_alt_name, san);
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  if (X509_sign(c, signer, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  return out;
}

}  // namespace lvsd::checkers::test
