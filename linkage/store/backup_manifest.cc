#include "linkage/store/backup_manifest.h"

#include <sys/stat.h>

#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "keys/mac.h"
#include "keys/signing.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {

absl::Status CheckBackupPath(absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup file path '", util::Printable(path.substr(0, 64)), "' ", why));
  };
  if (path.empty() || path.size() > kMaxBackupPathBytes)
    return bad(absl::StrCat("is empty or longer than ", kMaxBackupPathBytes,
                            " bytes"));
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() > 2) return bad("is more than two levels deep");
  if (parts.size() == 2 && parts[0] != kBackupDbDir)
    return bad(absl::StrCat("is in a directory other than ", kBackupDbDir));
  for (absl::string_view p : parts) {
    if (p.empty() || p == "." || p == "..")
      return bad("has an empty, '.' or '..' component");
    for (char c : p) {
      if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-')
        return bad("has a character other than [A-Za-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

std::string ManifestSignedBytes(const cohortlink::v1::BackupManifest& m) {
  cohortlink::v1::BackupManifest unsigned_copy = m;
  unsigned_copy.clear_signature();
  std::string out = "cohortlink-backup-v1\n";
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    unsigned_copy.SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<cohortlink::v1::BackupManifest> ReadManifest(
    const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/", kBackupManifestFile);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path, " is missing: ", dir,
                                            " is not a cohortlink backup"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxManifestBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is larger than the limit of ", kMaxManifestBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(std::string json, util::ReadFile(path));
  return ParseManifest(json, path);
}

absl::StatusOr<cohortlink::v1::BackupManifest> ParseManifest(
    absl::string_view json, const std::string& what) {
  if (json.size() > kMaxManifestBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is larger than the limit of ", kMaxManifestBytes, " bytes"));
  }
  cohortlink::v1::BackupManifest m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &m, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not a backup manifest: ", util::Printable(parsed.ToString())));
  }
  if (m.format() != kBackupFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": backup format ", m.format(),
        " is not the format this build reads (", kBackupFormat, ")"));
  }
  if (m.files_size() > kMaxBackupFiles) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": more than ", kMaxBackupFiles, " files"));
  }
  for (const auto& f : m.files()) {
    if (absl::Status s = CheckBackupPath(f.path()); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message()));
  }
  return m;
}

absl::Status WriteManifest(const std::string& dir,
                           const cohortlink::v1::BackupManifest& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  auto s = google::protobuf::util::MessageToJsonString(m, &json, options);
  if (!s.ok())
    return absl::InternalError(absl::StrCat("manifest: ", s.ToString()));
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(
                               absl::StrCat(dir, "/", kBackupManifestFile),
                               0600, /*overwrite=*/false));
  RETURN_IF_ERROR(f->Write(json));
  return f->Commit();
}

absl::StatusOr<std::string> Sha256File(const std::string& path,
                                       uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  keys::Sha256 h;
  std::string buf(kBackupChunkBytes, '\0');
  uint64_t total = 0;
  while (in) {
    in.read(buf.data(), buf.size());
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Update(absl::string_view(buf.data(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", path));
  if (size != nullptr) *size = total;
  return util::HexEncode(h.Finish());
}

absl::Status VerifyBackup(const std::string& dir,
                          const cohortlink::v1::BackupManifest& m,
                          const std::string& public_key_pem) {
  for (const auto& f : m.files()) {
    RETURN_IF_ERROR(CheckBackupPath(f.path()));
    uint64_t size = 0;
    auto digest = Sha256File(absl::StrCat(dir, "/", f.path()), &size);
    if (!digest.ok()) {
      return absl::DataLossError(
          absl::StrCat("backup ", dir, ": ", f.path(), " is missing"));
    }
    if (size != f.bytes() || *digest != f.sha256()) {
      return absl::DataLossError(absl::StrCat(
          "backup ", dir, ": ", f.path(), " differs from the manifest (", size,
          " bytes, manifest ", f.bytes(), ")"));
    }
  }
  std::string key = public_key_pem;
  if (key.empty()) {
    ASSIGN_OR_RETURN(
        key, util::ReadFile(absl::StrCat(dir, "/", kBackupPublicKeyFile)));
  }
  if (util::HexEncode(keys::Sha256::Digest(key)) != m.signing_key_sha256()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "backup ", dir,
        ": the public key given is not the access-log signing key the "
        "manifest names"));
  }
  ASSIGN_OR_RETURN(std::string signature, util::HexDecode(m.signature()));
  if (absl::Status s =
          keys::VerifySignature(key, ManifestSignedBytes(m), signature);
      !s.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "backup ", dir,
        ": the manifest's signature does not verify: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace cohortlink::store
