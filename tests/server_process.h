#ifndef COHORTLINK_TESTS_SERVER_PROCESS_H_
#define COHORTLINK_TESTS_SERVER_PROCESS_H_

// Runs the real cohortlink-server binary for integration tests: --dev
// certificates, a data directory of the test's, a free loopback port and a
// Prometheus endpoint on another.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli_runner.h"
#include "util/atomic_file.h"

namespace cohortlink::testing {

// The server under test; COHORTLINK_SERVER_BIN names another build of it
// (to check that a test fails on the code before a fix).
inline std::string ServerBinary() {
  if (const char* bin = std::getenv("COHORTLINK_SERVER_BIN");
      bin != nullptr && *bin != '\0') {
    return bin;
  }
  return std::string(COHORTLINK_BINARY_DIR) + "/server/cohortlink-server";
}

inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

// GET http://127.0.0.1:<port><path>; the whole response, headers included.
inline std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fd);
  return out;
}

class ServerProcess {
 public:
  // `data_dir` holds the database and dev-tls/; `log` collects stderr.
  ServerProcess(std::string data_dir, std::string log)
      : data_dir_(std::move(data_dir)),
        log_(std::move(log)),
        port_(FreePort()) {}
  // A server that is to listen on `port` (taken by another, say).
  ServerProcess(std::string data_dir, std::string log, int port)
      : data_dir_(std::move(data_dir)), log_(std::move(log)), port_(port) {}
  ~ServerProcess() { Stop(SIGTERM); }

  // Starts the server and waits until it listens. False (with the log in
  // `error`) if it does not.
  bool Start(std::string* error = nullptr) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log_.c_str(), "a", stderr);
      std::string listen = "127.0.0.1:" + std::to_string(port_);
      std::string bin = ServerBinary();
      std::vector<std::string> args = {
          bin,        "--dev", "--data-dir",       data_dir_,
          "--listen", listen,  "--metrics-listen", "127.0.0.1:0"};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 400; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // it exited
        pid_ = -1;
        exit_status_ = status;
        break;
      }
      auto text = util::ReadFile(log_);
      int listening = 0;
      for (size_t p = text.ok() ? text->find("listening on")
                                : std::string::npos;
           p != std::string::npos; p = text->find("listening on", p + 1)) {
        ++listening;
      }
      if (listening > starts_) {
        starts_ = listening;
        size_t m = text->rfind("metrics on http://127.0.0.1:");
        if (m != std::string::npos)
          metrics_port_ = std::atoi(text->c_str() + m + 28);
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (error != nullptr) *error = util::ReadFile(log_).value_or("");
    return false;
  }

  // The wait status of a server that exited during Start (-1: none did).
  int exit_status() const { return exit_status_; }

  // Sends `sig` and waits for the process to end.
  void Stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The running server's peak resident memory (VmHWM), in KiB, and its
  // threads; -1 if gone.
  int64_t PeakMemoryKiB() const { return StatusField("VmHWM:"); }
  int64_t Threads() const { return StatusField("Threads:"); }
  int metrics_port() const { return metrics_port_; }
  // The --dev certificate directory of `who` (police, analyst, ...).
  std::string Tls(const std::string& who) const {
    return data_dir_ + "/dev-tls/" + who;
  }
  const std::string& log() const { return log_; }

  // Further command-line arguments for the next Start().
  std::vector<std::string> extra_args;

 private:
  // The number after `field` in /proc/<pid>/status; -1 if absent.
  int64_t StatusField(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind(field, 0) == 0)
        return std::atoll(line.c_str() + field.size());
    return -1;
  }

  std::string data_dir_, log_;
  int port_;
  pid_t pid_ = -1;
  int starts_ = 0;  // "listening on" lines seen so far
  int metrics_port_ = 0;
  int exit_status_ = -1;
};

// `cohortlink <args> --server <server> --tls <who's --dev certificates>`.
inline CliResult RunCliAs(const ServerProcess& server, const std::string& who,
                          std::vector<std::string> args,
                          const std::filesystem::path& scratch) {
  for (auto& a : {std::string("--server"), server.address(),
                  std::string("--tls"), server.Tls(who)})
    args.push_back(a);
  return RunCli(args, scratch);
}

}  // namespace cohortlink::testing

#endif  // COHORTLINK_TESTS_SERVER_PROCESS_H_
