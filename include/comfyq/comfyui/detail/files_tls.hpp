#pragma once
// TLS to an https:// files server (comfyq-server behind nginx): the client's context, trusting
// the system's CAs or options.ca_file, and the handshake, which verifies the server's
// certificate and that it is made out to the host the URL names. A certificate that fails is a
// setting to fix, never a server out of reach: it throws invalid_input naming files_ca.

#include "comfyq/comfyui/detail/blocking_io.hpp"  // first: it includes <utility> before Asio

#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "comfyq/comfyui/remote_files_options.hpp"
#include "comfyq/errors.hpp"

namespace comfyq::comfyui::detail {

using tls_stream = net::ssl::stream<beast::tcp_stream>;

/// The TLS client of `options`: TLS 1.2 or later, the peer always verified, against
/// options.ca_file when given, else the system's CAs. Throws invalid_input (files_ca) for a
/// ca_file that holds no certificate.
inline net::ssl::context tls_client_context(const remote_files_options& options) {
  net::ssl::context context(net::ssl::context::tls_client);
  context.set_options(net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1);
  context.set_verify_mode(net::ssl::verify_peer);
  beast::error_code failure;
  if (options.ca_file.empty()) {
    context.set_default_verify_paths(failure);
  } else {
    context.load_verify_file(options.ca_file.string(), failure);
  }
  if (failure) {
    throw invalid_input("files_ca", "'" + options.ca_file.string() + "' holds no certificate this worker can use (" +
                                        failure.message() + "); give the PEM file of the server's certificate, "
                                                            "or of the CA that signed it");
  }
  return context;
}

/// Verifies the server's certificate as OpenSSL did (`preverified`), then that it is made out to
/// `host` (a name, or an IP address); keeps why it refused one, which OpenSSL does not say for
/// a name that does not match.
class certificate_check {
 public:
  certificate_check(const std::string& host, std::string& refusal)
      : host_(host), matches_host_(host), refusal_(refusal) {}

  bool operator()(bool preverified, net::ssl::verify_context& context) const {
    if (!preverified) {
      refusal_ = X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.native_handle()));
      return false;
    }
    if (!matches_host_(true, context)) {
      refusal_ = "it is not made out to " + host_;
      return false;
    }
    return true;
  }

 private:
  std::string host_;
  net::ssl::host_name_verification matches_host_;
  std::string& refusal_;
};

/// Starts TLS on `stream`, connected to the server of `options` (its URL is `url`), within
/// options.connect_timeout; the error of a handshake that failed for another reason than the
/// certificate, if any.
inline beast::error_code tls_handshake(net::io_context& io, tls_stream& stream, const remote_files_options& options) {
  // SNI names the host, so that nginx picks the site's certificate; never an IP address (RFC 6066).
  beast::error_code not_an_address;
  (void)net::ip::make_address(options.host, not_an_address);
  if (not_an_address && SSL_set_tlsext_host_name(stream.native_handle(), options.host.c_str()) != 1) {
    return {static_cast<int>(ERR_get_error()), net::error::get_ssl_category()};
  }
  beast::error_code failure;
  std::string refusal;  // the callback's, which runs only during the handshake
  stream.set_verify_callback(certificate_check(options.host, refusal));
  beast::get_lowest_layer(stream).expires_after(options.connect_timeout);
  stream.async_handshake(net::ssl::stream_base::client, [&](beast::error_code error) { failure = error; });
  run_until_done(io);
  if (failure && !refusal.empty()) {
    throw invalid_input("files_ca", "the certificate of " + options.url() + " is not trusted (" + refusal +
                                        "); give the server's certificate, or the CA that signed it, with --files-ca "
                                        "PEM, and name the server in --files-url as its certificate does");
  }
  return failure;
}

/// Ends TLS on `stream` after the answer was read whole: a server that closes without saying
/// so (stream_truncated), or never answers within options.connect_timeout, changes nothing.
inline void tls_shutdown(net::io_context& io, tls_stream& stream, const remote_files_options& options) {
  beast::get_lowest_layer(stream).expires_after(options.connect_timeout);
  stream.async_shutdown([](beast::error_code) {});
  run_until_done(io);
}

}  // namespace comfyq::comfyui::detail
