// OpenSSL 3 from Debian's libssl-dev (pkg-config openssl), for the server's TLS listener. Several of
// OpenSSL's calls are macros Swift cannot import; these static inline wrappers give them names.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static inline long cairn_ssl_ctx_set_options(SSL_CTX *ctx, long options) { return SSL_CTX_set_options(ctx, options); }
static inline long cairn_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long cairn_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
static inline long cairn_ssl_ctx_sess_set_cache_size(SSL_CTX *ctx, long size) { return SSL_CTX_sess_set_cache_size(ctx, size); }
static inline long cairn_ssl_ctx_set_read_ahead(SSL_CTX *ctx, long on) { SSL_CTX_set_read_ahead(ctx, on); return 1; }
static inline long cairn_ssl_ctx_set_dh_auto(SSL_CTX *ctx, long on) { return SSL_CTX_set_dh_auto(ctx, on); }

static inline long cairn_ssl_op_no_sslv2(void) { return SSL_OP_NO_SSLv2; }
static inline long cairn_ssl_op_no_sslv3(void) { return SSL_OP_NO_SSLv3; }
static inline long cairn_ssl_op_no_tlsv1(void) { return SSL_OP_NO_TLSv1; }
static inline long cairn_ssl_op_no_tlsv1_1(void) { return SSL_OP_NO_TLSv1_1; }
static inline long cairn_ssl_op_no_tlsv1_2(void) { return SSL_OP_NO_TLSv1_2; }
static inline long cairn_ssl_op_no_tlsv1_3(void) { return SSL_OP_NO_TLSv1_3; }
static inline long cairn_ssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
static inline long cairn_ssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
static inline long cairn_ssl_op_no_client_renegotiation(void) { return SSL_OP_NO_CLIENT_RENEGOTIATION; }
#else
static inline long cairn_ssl_op_no_client_renegotiation(void) { return 0; }
#endif
static inline long cairn_ssl_mode_partial_writes(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
static inline long cairn_ssl_sess_cache_server(void) { return SSL_SESS_CACHE_SERVER; }
static inline long cairn_ssl_sess_cache_off(void) { return SSL_SESS_CACHE_OFF; }

/// Loads Diffie-Hellman parameters from a PEM file into `ctx`; 1 on success.
static inline int cairn_ssl_ctx_load_dh_params(SSL_CTX *ctx, const char *path) {
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) return 0;
    EVP_PKEY *params = PEM_read_bio_Parameters(bio, NULL);
    BIO_free(bio);
    if (!params) return 0;
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, params) != 1) { EVP_PKEY_free(params); return 0; }
    return 1;
}
