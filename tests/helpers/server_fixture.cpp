// The server tests' fixture (server_fixture.h).
#include "helpers/server_fixture.h"

#include "helpers/paths.h"

namespace lenet::test {

const LoadedModel& shipped_model() {
  static const LoadedModel* loaded = new LoadedModel(load_lenet5(source_path("models/lenet5.bin")));
  return *loaded;
}

void ServerFixture::start_server(ServerOptions o) {
  server_.reset();
  o.host = "127.0.0.1";
  o.port = 0;
  o.files = {{"/", "text/html; charset=utf-8", "<p>the page</p>"}};
  o.log = [this](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    log_.push_back(line);
  };
  server_ = std::make_unique<DigitServer>(shipped_model(), o);
  server_->start();
  ASSERT_GT(server_->port(), 0);
}

std::vector<std::string> ServerFixture::log_lines() {
  std::lock_guard<std::mutex> lock(log_mutex_);
  return log_;
}

}  // namespace lenet::test
