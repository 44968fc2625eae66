// A small HTTP/1.1 client over raw loopback sockets (http_client.h).
#include "helpers/http_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace lenet::test {

int connect_loopback(int port, int source_offset, int receive_timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (source_offset > 0) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + std::uint32_t(source_offset));
    ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  const timeval tv{receive_timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += std::size_t(n);
  }
  return true;
}

HttpAnswer read_answer(int fd, std::string& buffer) {
  for (;;) {
    const std::size_t end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      for (std::size_t at = buffer.find('\n'); at < end; at = buffer.find('\n', at + 1))
        if (strncasecmp(buffer.c_str() + at + 1, "content-length:", 15) == 0)
          length = std::strtoul(buffer.c_str() + at + 16, nullptr, 10);
      if (buffer.size() >= end + 4 + length) {
        HttpAnswer a;
        a.head = buffer.substr(0, end + 2);
        a.body = buffer.substr(end + 4, length);
        a.status = a.head.size() > 12 ? std::atoi(a.head.c_str() + 9) : -1;
        buffer.erase(0, end + 4 + length);
        return a;
      }
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return {};
    buffer.append(chunk, std::size_t(n));
  }
}

HttpAnswer exchange(int port, std::string_view request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  std::string buffer;
  HttpAnswer a;
  if (send_all(fd, request)) a = read_answer(fd, buffer);
  ::close(fd);
  return a;
}

}  // namespace lenet::test
