#ifndef COHORTLINK_LINKAGE_STORE_TEST_UPLOAD_H_
#define COHORTLINK_LINKAGE_STORE_TEST_UPLOAD_H_

// Synthetic uploads for the store's tests.

#include <functional>
#include <string>

#include "cohortlink/v1/ingest.pb.h"
#include "keys/mac.h"
#include "linkage/encoding/extract_file.h"

namespace cohortlink::store::testing {

struct Upload {
  cohortlink::v1::UploadHeader header;
  std::string framed;  // the records, varint-framed as the upload sends them
};

// `n` arrest records of a one-segment layout of `bits` bits; `salt` varies
// the content, `epoch` and `kcv` name the secret.
inline Upload MakeUpload(const std::string& name, int n,
                         const std::string& salt = "",
                         const std::string& fingerprint = std::string(32, 'f'),
                         const std::string& kcv = "kcv-1234",
                         uint32_t epoch = 1, uint32_t bits = 128) {
  Upload u;
  u.header.set_extract_name(name);
  u.header.set_key_epoch(epoch);
  auto* h = u.header.mutable_extract();
  h->set_schema_fingerprint(fingerprint);
  h->set_key_check_value(kcv);
  h->mutable_layout()->set_total_bits(bits);
  auto* seg = h->mutable_layout()->add_segments();
  seg->set_name("surname");
  seg->set_length_bits(bits);
  for (int i = 0; i < n; ++i) {
    cohortlink::v1::EncodedRecord r;
    r.set_record_key("k" + std::to_string(i) + salt);
    r.set_filters(std::string(bits / 8, static_cast<char>(i)));
    r.set_event_type("arrest");
    r.set_event_date("2025-01-0" + std::to_string(1 + i % 9));
    encoding::AppendLengthDelimited(r.SerializeAsString(), &u.framed);
  }
  u.header.set_record_count(n);
  u.header.set_content_digest(keys::Sha256::Digest(u.framed));
  return u;
}

// `u` with `n` records made by `edit` (from a record of the layout's size,
// key "r<i>", an arrest); the count and content digest follow.
inline Upload WithRecords(
    Upload u, int n,
    const std::function<void(int, cohortlink::v1::EncodedRecord*)>& edit) {
  u.framed.clear();
  const uint32_t bytes = u.header.extract().layout().total_bits() / 8;
  for (int i = 0; i < n; ++i) {
    cohortlink::v1::EncodedRecord r;
    r.set_record_key("r" + std::to_string(i));
    r.set_filters(std::string(bytes, static_cast<char>(i)));
    r.set_event_type("arrest");
    edit(i, &r);
    encoding::AppendLengthDelimited(r.SerializeAsString(), &u.framed);
  }
  u.header.set_record_count(n);
  u.header.set_content_digest(keys::Sha256::Digest(u.framed));
  return u;
}

}  // namespace cohortlink::store::testing

#endif  // COHORTLINK_LINKAGE_STORE_TEST_UPLOAD_H_
