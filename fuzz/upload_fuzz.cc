// libFuzzer target: the server's upload path. The first byte picks how the
// rest is split; then an UploadHeader (length-prefixed, else a valid default
// whose record count the input sets) and the framed records, fed to an
// UploadSession in pieces as a gRPC stream would, then committed. Any
// header, framing or record must be refused with a status, never crash;
// what commits is withdrawn again, so the store stays small.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "keys/mac.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/store.h"
#include "util/temp_dir.h"

namespace {

using cohortlink::store::ExtractStore;
using cohortlink::store::RecordPolicy;
using cohortlink::store::Store;

struct Fixture {
  cohortlink::util::TempDir dir{"upload_fuzz"};
  std::unique_ptr<Store> store;
  std::unique_ptr<ExtractStore> extracts;
  Fixture() {
    store = *Store::Open(dir.File("db"));
    extracts = *ExtractStore::Create(store.get());
  }
};

cohortlink::v1::UploadHeader DefaultHeader() {
  cohortlink::v1::UploadHeader h;
  h.set_extract_name("fuzz");
  auto* x = h.mutable_extract();
  x->set_schema_fingerprint(std::string(32, 'f'));
  x->set_key_check_value("kcv-1234");
  x->add_attribute_names("area");
  x->add_attribute_names("sex");
  x->mutable_layout()->set_total_bits(128);
  auto* seg = x->mutable_layout()->add_segments();
  seg->set_name("surname");
  seg->set_length_bits(128);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture;
  if (size < 3) return 0;
  const size_t chunk = 1 + data[0];
  const size_t header_len = data[1] | (data[2] & 0x7F) << 8;
  const bool own_header = (data[2] & 0x80) != 0;
  data += 3;
  size -= 3;
  cohortlink::v1::UploadHeader header = DefaultHeader();
  if (own_header) {
    const size_t n = header_len < size ? header_len : size;
    if (!header.ParseFromArray(data, static_cast<int>(n))) return 0;
    data += n;
    size -= n;
  } else {
    header.set_record_count(header_len % 64);
  }
  const std::string framed(reinterpret_cast<const char*>(data), size);
  header.set_content_digest(cohortlink::keys::Sha256::Digest(framed));
  RecordPolicy policy;
  policy.agency_type = "police";
  policy.event_types = {"arrest", "charge"};
  policy.attributes = {"area", "sex"};
  auto session = f->extracts->BeginUpload(
      "police", "spiffe://t/agency/police/submitter", header, policy);
  if (!session.ok()) return 0;
  for (size_t at = 0; at < framed.size(); at += chunk) {
    if (!(*session)
             ->AddFramedRecords(absl::string_view(framed).substr(at, chunk))
             .ok())
      return 0;
  }
  auto receipt = (*session)->Commit({});
  if (receipt.ok()) {
    if (receipt->records() != header.record_count()) __builtin_trap();
    if (!f->extracts->Delete("police", header.extract_name()).ok())
      __builtin_trap();
  }
  return 0;
}
