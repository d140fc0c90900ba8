// cohortlink: the agency-side command line. Parses flags, wires the chosen
// subcommand and maps failures to exit codes (0 ok, 1 failed, 2 usage).

#include <csignal>
#include <iostream>

#include "client/commands.h"

namespace {

// The only process-wide mutable state: written by the signal handler.
std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

}  // namespace

int main(int argc, char** argv) {
  using namespace cohortlink::client;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  CLI::App app{
      "cohortlink: privacy-preserving record linkage for public bodies.\n"
      "Encodes identifiers into keyed Bloom filters on the agency's own "
      "machine; raw identifiers never leave it."};
  app.set_version_flag("--version", "cohortlink " COHORTLINK_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  Context ctx;
  ctx.interrupted = &g_interrupted;
  RegisterKeys(app, &ctx);
  RegisterEncode(app, &ctx);
  RegisterSchema(app, &ctx);
  RegisterSynth(app, &ctx);
  RegisterEvaluate(app, &ctx);
  RegisterIngest(app, &ctx);
  RegisterLinkage(app, &ctx);
  RegisterQuery(app, &ctx);
  RegisterAudit(app, &ctx);
  RegisterBackup(app, &ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!ctx.run) return kExitUsage;
  absl::Status status = ctx.run();
  if (!status.ok()) {
    PrintError(status);
    return status.code() == absl::StatusCode::kCancelled ? 130 : kExitFailure;
  }
  return kExitOk;
}
