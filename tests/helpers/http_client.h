// A small HTTP/1.1 client over raw loopback sockets, for the server's tests and bench/http_load: connect
// (from any 127/8 address), send bytes as they are, read answers one at a time off a kept-alive stream.
// Raw on purpose: the tests send what no proper client would (bad lengths, pipelines, stalls).
#pragma once
#include <string>
#include <string_view>

namespace lenet::test {

// A TCP connection to 127.0.0.1:port from 127.0.0.1 + source_offset (the whole of 127/8 is this machine,
// so clients can be told apart), with TCP_NODELAY and a receive timeout; -1 if refused.
int connect_loopback(int port, int source_offset = 0, int receive_timeout_s = 10);

// Sends every byte (MSG_NOSIGNAL); false if the connection failed first.
bool send_all(int fd, std::string_view bytes);

struct HttpAnswer {
  int status = -1;  // -1: no whole answer (closed or timed out first)
  std::string head, body;
};

// The next answer on the stream: its head, then Content-Length bytes of body. `buffer` holds what was
// received past it, for the next call (pipelined answers).
HttpAnswer read_answer(int fd, std::string& buffer);

// One request on a fresh connection, its first answer, and the connection closed.
HttpAnswer exchange(int port, std::string_view request);

}  // namespace lenet::test
