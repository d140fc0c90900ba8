#ifndef COHORTLINK_LINKAGE_STORE_ENCRYPTION_H_
#define COHORTLINK_LINKAGE_STORE_ENCRYPTION_H_

// Encryption at rest: every RocksDB file (tables, WAL, MANIFEST, OPTIONS)
// goes through RocksDB's encrypted Env, AES-256 in CTR mode (RocksDB's CTR
// provider over an AES-256 block cipher from OpenSSL). The AES key is
// derived with HKDF-SHA256 from a data key file (any `cohortlink keys
// secret` file, 0600). A key check value beside the database tells a wrong
// key apart before RocksDB reads anything.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rocksdb/env.h"

namespace cohortlink::store {

// The Env to open the database in `db_dir` with, or null for none.
// - key_file empty: none; FAILED_PRECONDITION when the database was created
//   encrypted.
// - key_file given: a new database is created encrypted (and its key check
//   written); an existing one must have been created with this key
//   (PERMISSION_DENIED: "wrong data key") and encrypted
//   (FAILED_PRECONDITION when it was created without encryption).
// The encrypted Env wraps `base` (default: Env::Default()), which must
// outlive it.
absl::StatusOr<std::unique_ptr<rocksdb::Env>> EncryptedEnvFor(
    const std::string& db_dir, const std::string& key_file,
    rocksdb::Env* base = nullptr);

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_ENCRYPTION_H_
