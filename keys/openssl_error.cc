#include "keys/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace cohortlink::keys {

absl::Status OpenSslError(absl::string_view what) {
  std::string msg(what);
  unsigned long code;
  bool first = true;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    absl::StrAppend(&msg, first ? ": " : "; ", buf);
    first = false;
  }
  return absl::InternalError(msg);
}

}  // namespace cohortlink::keys
