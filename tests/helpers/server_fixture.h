// The server tests' fixture: the shipped model loaded once per process, and a DigitServer over it on an
// ephemeral loopback port with a one-line page, its log lines kept for the test to read.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lenet/lenet5_io.h"
#include "lenet/server.h"

namespace lenet::test {

// models/lenet5.bin, loaded on first use and kept until the process ends.
const LoadedModel& shipped_model();

class ServerFixture : public ::testing::Test {
 protected:
  // (Re)starts the server with `o` on 127.0.0.1, any free port, serving "<p>the page</p>" at "/".
  void start_server(ServerOptions o);
  int port() const { return server_->port(); }
  std::vector<std::string> log_lines();

  std::mutex log_mutex_;
  std::vector<std::string> log_;
  std::unique_ptr<DigitServer> server_;  // last, so it stops before the log it writes to goes
};

}  // namespace lenet::test
