#ifndef COHORTLINK_CLIENT_COMMANDS_H_
#define COHORTLINK_CLIENT_COMMANDS_H_

#include "CLI/CLI.hpp"
#include "client/cli_util.h"
#include "client/rpc.h"
#include "cohortlink/v1/linkage.pb.h"
#include "cohortlink/v1/query.pb.h"

namespace cohortlink::client {

// Each adds its subcommand(s) to `app`; when chosen, the subcommand sets
// ctx->run to the action to perform after parsing.
void RegisterKeys(CLI::App& app, Context* ctx);
void RegisterEncode(CLI::App& app, Context* ctx);
void RegisterSchema(CLI::App& app, Context* ctx);
void RegisterSynth(CLI::App& app, Context* ctx);
void RegisterEvaluate(CLI::App& app, Context* ctx);
void RegisterIngest(CLI::App& app, Context* ctx);
void RegisterLinkage(CLI::App& app, Context* ctx);
void RegisterQuery(CLI::App& app, Context* ctx);
void RegisterAudit(CLI::App& app, Context* ctx);
void RegisterBackup(CLI::App& app, Context* ctx);

// A project's privacy budget (its analysts and auditors may ask).
absl::StatusOr<cohortlink::v1::PrivacyBudget> GetBudget(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& project);

// The server's linkage state (every role may ask).
absl::StatusOr<cohortlink::v1::LinkageStatus> GetLinkageStatus(
    const ConnArgs& a);

}  // namespace cohortlink::client

#endif  // COHORTLINK_CLIENT_COMMANDS_H_
