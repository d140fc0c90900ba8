#ifndef COHORTLINK_TESTS_CLI_RUNNER_H_
#define COHORTLINK_TESTS_CLI_RUNNER_H_

// Runs the real `cohortlink` binary and captures exit status and output.

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cohortlink::testing {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string CliBinary() {
  return std::string(COHORTLINK_BINARY_DIR) + "/client/cohortlink";
}

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `cohortlink <args>` with stdin from /dev/null.
inline CliResult RunCli(const std::vector<std::string>& args,
                        const std::filesystem::path& scratch) {
  std::string cmd = ShellQuote(CliBinary());
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  std::string out = (scratch / "stdout.txt").string();
  std::string err = (scratch / "stderr.txt").string();
  cmd += " </dev/null >" + ShellQuote(out) + " 2>" + ShellQuote(err);
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// The five synthetic agencies.
inline const std::vector<std::string>& Agencies() {
  static const auto* agencies = new std::vector<std::string>{
      "police", "probation", "prison", "health", "local-authority"};
  return *agencies;
}

// `cohortlink synth` of `people` into `dir`/region, a shared secret in
// `dir`/secret, and each agency's extract encoded as `dir`/<agency>.clx
// (with its key map as `dir`/<agency>.keys when asked). Empty, or the
// first failure's stderr.
inline std::string EncodeRegion(const std::filesystem::path& dir, int people,
                                bool key_maps = false) {
  auto file = [&](const std::string& name) { return (dir / name).string(); };
  CliResult r = RunCli(
      {"synth", "--people", std::to_string(people), "--out", file("region")},
      dir);
  if (r.exit_code != 0) return "synth: " + r.err;
  std::ofstream(file("secret")) << "shared secret\n";
  for (const std::string& agency : Agencies()) {
    std::vector<std::string> args = {"encode",
                                     "--schema",
                                     file("region/schema.json"),
                                     "--secret",
                                     file("secret"),
                                     "--input",
                                     file("region/" + agency + ".csv"),
                                     "--output",
                                     file(agency + ".clx")};
    if (key_maps) {
      args.push_back("--key-map");
      args.push_back(file(agency + ".keys"));
    }
    r = RunCli(args, dir);
    if (r.exit_code != 0) return "encode " + agency + ": " + r.err;
  }
  return "";
}

}  // namespace cohortlink::testing

#endif  // COHORTLINK_TESTS_CLI_RUNNER_H_
