// cohortlink backup ...: consistent backups of a serving server, and their
// offline check.

#include <filesystem>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/commands.h"
#include "client/progress.h"
#include "cohortlink/v1/admin.grpc.pb.h"
#include "linkage/store/backup_manifest.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::client {
namespace {
namespace fs = std::filesystem;

struct CreateArgs : ConnArgs {
  std::string out;
  int timeout = 3600;
};

// Receives the stream into `dir`: each file checked against its announced
// size as it arrives, then the whole against the manifest.
absl::StatusOr<cohortlink::v1::BackupManifest> Receive(
    grpc::ClientReader<cohortlink::v1::BackupChunk>* reader,
    const std::string& dir, bool* ended) {
  std::unique_ptr<util::AtomicFile> file;
  std::string path;
  uint64_t expected = 0, bytes = 0;
  int files = 0;
  std::optional<cohortlink::v1::BackupManifest> manifest;
  ProgressBar bar("backup", 0);
  auto close = [&]() -> absl::Status {
    if (file == nullptr) return absl::OkStatus();
    if (file->size() != expected) {
      return absl::DataLossError(
          absl::StrCat("backup stream: ", path, " ended at ", file->size(),
                       " bytes of the ", expected, " announced"));
    }
    RETURN_IF_ERROR(file->Commit());
    file.reset();
    return absl::OkStatus();
  };
  cohortlink::v1::BackupChunk chunk;
  while (reader->Read(&chunk)) {
    if (manifest.has_value())
      return absl::DataLossError("backup stream: data after the manifest");
    if (chunk.has_manifest()) {
      RETURN_IF_ERROR(close());
      manifest = chunk.manifest();
      continue;
    }
    if (!chunk.path().empty()) {
      RETURN_IF_ERROR(close());
      RETURN_IF_ERROR(store::CheckBackupPath(chunk.path()));
      if (++files > store::kMaxBackupFiles) {
        return absl::DataLossError(absl::StrCat(
            "backup stream: more than ", store::kMaxBackupFiles, " files"));
      }
      path = chunk.path();
      expected = chunk.size();
      if (path.find('/') != std::string::npos) {
        std::error_code ec;
        const fs::path sub = fs::path(dir) / fs::path(path).parent_path();
        fs::create_directories(sub, ec);
        if (!ec) fs::permissions(sub, fs::perms::owner_all, ec);
        if (ec) return absl::InternalError(ec.message());
      }
      ASSIGN_OR_RETURN(
          file, util::AtomicFile::Create(absl::StrCat(dir, "/", path), 0600,
                                         /*overwrite=*/false));
    } else if (file == nullptr) {
      return absl::DataLossError("backup stream: data before a file's path");
    }
    if (file->size() + chunk.data().size() > expected) {
      return absl::DataLossError(absl::StrCat("backup stream: ", path,
                                              " is longer than the ", expected,
                                              " bytes announced"));
    }
    RETURN_IF_ERROR(file->Write(chunk.data()));
    bytes += chunk.data().size();
    bar.Update(files, bytes);
  }
  bar.Finish();
  *ended = true;
  if (!manifest.has_value()) {
    return absl::DataLossError(
        "backup stream ended without its manifest (the server stopped or "
        "the connection broke); nothing was kept");
  }
  return *manifest;
}

absl::Status RunCreate(const CreateArgs& a) {
  std::error_code ec;
  if (fs::exists(a.out, ec) && !fs::is_empty(a.out, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(a.out,
                     " exists and is not empty: back up into a new "
                     "directory"));
  }
  const std::string partial = a.out + ".partial";
  if (fs::exists(partial, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        partial, " is left from an interrupted backup: remove it first"));
  }
  fs::create_directory(partial, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", partial, ": ", ec.message()));
  }
  fs::permissions(partial, fs::perms::owner_all, ec);
  util::RemoveUnlessKept cleanup(partial);
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  auto stub = cohortlink::v1::AdminService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, a.timeout);
  const absl::Time start = absl::Now();
  auto reader = stub->CreateBackup(&ctx, {});
  bool ended = false;
  auto manifest = Receive(reader.get(), partial, &ended);
  if (!ended) ctx.TryCancel();
  // The server's own error (a refusal sends nothing) comes first.
  grpc::Status finished = reader->Finish();
  if (!manifest.ok() && finished.error_code() == grpc::StatusCode::CANCELLED)
    return manifest.status();
  RETURN_IF_ERROR(FromGrpc(finished, "backup"));
  if (!manifest.ok()) return manifest.status();
  // Every file against the manifest (sizes, SHA-256, and the signature
  // under the public key sent with it).
  RETURN_IF_ERROR(store::VerifyBackup(partial, *manifest));
  RETURN_IF_ERROR(store::WriteManifest(partial, *manifest));
  if (fs::exists(a.out, ec)) fs::remove(a.out, ec);  // empty
  fs::rename(partial, a.out, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot rename ", partial, " to ",
                                            a.out, ": ", ec.message()));
  }
  cleanup.Keep();
  uint64_t bytes = 0;
  for (const auto& f : manifest->files()) bytes += f.bytes();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (a.format == "json") {
    google::protobuf::Struct out;
    auto& fields = *out.mutable_fields();
    fields["dir"] = JsonString(a.out);
    fields["files"] = JsonNumber(manifest->files_size());
    fields["bytes"] = JsonNumber(static_cast<double>(bytes));
    fields["access_log_entries"] =
        JsonNumber(static_cast<double>(manifest->access_log_entries()));
    fields["encrypted_at_rest"] = JsonBool(manifest->encrypted_at_rest());
    fields["seconds"] = JsonNumber(seconds);
    PrintJson(out);
    return absl::OkStatus();
  }
  PrintKeyValues({
      {"backup", a.out},
      {"files", WithThousands(manifest->files_size())},
      {"bytes", WithThousands(bytes)},
      {"access log entries", WithThousands(manifest->access_log_entries())},
      {"encrypted at rest", manifest->encrypted_at_rest() ? "yes" : "no"},
      {"seconds", absl::StrFormat("%.1f", seconds)},
  });
  std::cout << "Keep separately (the backup does not hold them):\n";
  for (const auto& k : manifest->keep_separately())
    std::cout << "  - " << k << "\n";
  return absl::OkStatus();
}

struct VerifyArgs {
  std::string dir, pubkey;
};

absl::Status RunVerify(const VerifyArgs& a) {
  ASSIGN_OR_RETURN(cohortlink::v1::BackupManifest m,
                   store::ReadManifest(a.dir));
  std::string key;
  if (!a.pubkey.empty()) {
    ASSIGN_OR_RETURN(key, util::ReadFile(a.pubkey));
  }
  RETURN_IF_ERROR(store::VerifyBackup(a.dir, m, key));
  std::cout << a.dir << ": OK (" << m.files_size() << " files match the "
            << "manifest, signed by the access-log key"
            << (a.pubkey.empty() ? " in the backup" : " given") << "; "
            << WithThousands(m.access_log_entries())
            << " access-log entries, taken " << m.created() << ")\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterBackup(CLI::App& app, Context* ctx) {
  CLI::App* backup = app.add_subcommand(
      "backup", "Back up a serving server, and check backups");
  backup->require_subcommand(1);
  auto ca = std::make_shared<CreateArgs>();
  CLI::App* create = backup->add_subcommand(
      "create",
      "Take a consistent backup of the running server into a new directory "
      "(role admin); restore with cohortlink-server --restore");
  AddConn(create, ca.get());
  create
      ->add_option("--out", ca->out,
                   "Directory to create (absent or empty; written 0700)")
      ->required();
  create->add_option("--timeout", ca->timeout, "Seconds to allow")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  create->callback([ctx, ca] { ctx->run = [ca] { return RunCreate(*ca); }; });

  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = backup->add_subcommand(
      "verify",
      "Check a backup offline: every file against the signed manifest");
  verify->add_option("dir", va->dir, "The backup directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  verify
      ->add_option("--pubkey", va->pubkey,
                   "The access log's public key you hold (audit-public.pem); "
                   "without it the backup's own copy is used, which shows "
                   "only that the files match the manifest")
      ->check(CLI::ExistingFile);
  verify->callback([ctx, va] { ctx->run = [va] { return RunVerify(*va); }; });
}

}  // namespace cohortlink::client
