// cohortlink encode: CSV extract -> encoded extract, on the agency machine.

#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/commands.h"
#include "client/progress.h"
#include "keys/secret.h"
#include "linkage/encoding/encode_pipeline.h"
#include "linkage/encoding/record_encoder.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

using encoding::OutputFormat;

struct EncodeArgs {
  std::string schema, secret, input, output, key_map, blip_seed;
  std::string format = "native";
  std::string report = "table";
  std::string delimiter = ",";
  int threads = 0;
  bool no_header = false;
  bool no_header_check = false;
  bool skip_initial_space = false;
};

std::string LayoutSummary(const cohortlink::v1::FilterLayout& layout) {
  std::vector<std::string> parts;
  for (const auto& s : layout.segments()) {
    std::string h =
        s.hardening().empty()
            ? ""
            : absl::StrCat(" [", absl::StrJoin(s.hardening(), ","), "]");
    parts.push_back(absl::StrCat(s.name(), " ", s.length_bits(), h));
  }
  return absl::StrJoin(parts, ", ");
}

absl::Status RunEncode(const EncodeArgs& a, const Context& ctx) {
  if (a.delimiter.size() != 1) {
    return absl::InvalidArgumentError("--delimiter must be one character");
  }
  ASSIGN_OR_RETURN(encoding::LoadedSchema schema,
                   encoding::LoadSchemaFile(a.schema));
  ASSIGN_OR_RETURN(keys::SecretBytes secret, keys::LoadSecretFile(a.secret));
  encoding::EncoderOptions eopts;
  eopts.blip_seed = a.blip_seed;
  eopts.check_header = !a.no_header_check;
  ASSIGN_OR_RETURN(auto encoder,
                   encoding::NewRecordEncoder(schema, secret.view(), eopts));
  secret.Wipe();

  encoding::EncodeOptions opts;
  opts.format = a.format == "clkhash-json" ? OutputFormat::kClkhashJson
                                           : OutputFormat::kNative;
  opts.threads =
      a.threads > 0
          ? a.threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opts.csv.delimiter = a.delimiter[0];
  opts.csv.skip_initial_space = a.skip_initial_space;
  opts.has_header = !a.no_header;
  opts.key_map_path = a.key_map;
  opts.cancel = ctx.interrupted;
  struct stat st;
  uint64_t total = ::stat(a.input.c_str(), &st) == 0 ? st.st_size : 0;
  ProgressBar bar("encoding", total);
  uint64_t last_bytes = 0;
  opts.progress = [&](uint64_t rows, uint64_t bytes) {
    if (bytes > 0) last_bytes = bytes;
    bar.Update(rows, last_bytes);
  };
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(encoding::EncodeResult r,
                   encoding::EncodeCsv(*encoder, a.input, a.output, opts));
  bar.Finish();
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  double rate = secs > 0 ? r.records / secs : 0;
  const auto& h = r.header;
  std::string fp = util::HexEncode(h.schema_fingerprint()).substr(0, 16);
  std::string kcv = util::HexEncode(h.key_check_value());
  if (a.report == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["records"] = JsonNumber(static_cast<double>(r.records));
    (*f)["output"] = JsonString(a.output);
    (*f)["format"] = JsonString(a.format);
    (*f)["schema_kind"] = JsonString(h.schema_kind());
    (*f)["schema_fingerprint"] =
        JsonString(util::HexEncode(h.schema_fingerprint()));
    (*f)["key_check_value"] = JsonString(kcv);
    (*f)["filter_bits"] = JsonNumber(h.layout().total_bits());
    if (!r.content_digest.empty()) {
      (*f)["content_digest"] = JsonString(util::HexEncode(r.content_digest));
    }
    (*f)["seconds"] = JsonNumber(secs);
    (*f)["records_per_second"] = JsonNumber(rate);
    (*f)["threads"] = JsonNumber(opts.threads);
    PrintJson(v);
    return absl::OkStatus();
  }
  std::vector<std::pair<std::string, std::string>> kv = {
      {"encoded",
       absl::StrFormat("%s records in %.2f s (%s records/s, %d threads)",
                       WithThousands(r.records), secs,
                       WithThousands(static_cast<uint64_t>(rate)),
                       opts.threads)},
      {"output", absl::StrCat(a.output, opts.format == OutputFormat::kNative
                                            ? " (cohortlink extract)"
                                            : " (clkhash JSON)")},
      {"schema", absl::StrCat(h.schema_kind(), ", fingerprint ", fp)},
      {"key check", kcv},
      {"filters", LayoutSummary(h.layout())},
  };
  if (!r.content_digest.empty()) {
    kv.push_back(
        {"digest", absl::StrCat("sha256:", util::HexEncode(r.content_digest))});
  }
  if (!a.key_map.empty())
    kv.push_back({"key map", a.key_map + " (keep it on this machine)"});
  PrintKeyValues(kv);
  return absl::OkStatus();
}

}  // namespace

void RegisterEncode(CLI::App& app, Context* ctx) {
  auto a = std::make_shared<EncodeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "encode",
      "Encode a CSV extract into keyed Bloom filters (on this machine; raw "
      "identifiers are never written out)");
  cmd->add_option("--schema", a->schema,
                  "Linkage schema (cohortlink or clkhash JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--secret", a->secret,
                  "File holding the shared linkage secret")
      ->required();
  cmd->add_option("--input", a->input, "CSV extract to encode ('-' for stdin)")
      ->required();
  cmd->add_option("--output", a->output, "Encoded extract to write")
      ->required();
  cmd->add_option("--format", a->format, "Output format")
      ->check(CLI::IsMember({"native", "clkhash-json"}))
      ->capture_default_str();
  cmd->add_option("--threads", a->threads,
                  "Worker threads (default: all cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--no-header", a->no_header,
                "The CSV has no header row (clkhash schemas only)");
  cmd->add_flag("--no-header-check", a->no_header_check,
                "clkhash schemas: do not require header names to equal the "
                "feature identifiers");
  cmd->add_option("--delimiter", a->delimiter, "CSV field separator")
      ->capture_default_str();
  cmd->add_flag("--skip-initial-space", a->skip_initial_space,
                "Ignore spaces after each delimiter (Febrl files)");
  cmd->add_option("--key-map", a->key_map,
                  "Also write local_id,record_key pairs here (stays on this "
                  "machine; used by 'cohortlink evaluate')");
  cmd->add_option("--blip-seed", a->blip_seed,
                  "Fix BLIP's randomness (reproducible tests only: weakens "
                  "the privacy of repeated encodings)");
  cmd->add_option("--report", a->report, "Summary format on stdout")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback(
      [ctx, a] { ctx->run = [ctx, a] { return RunEncode(*a, *ctx); }; });
}

}  // namespace cohortlink::client
