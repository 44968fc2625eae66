// Inputs named on the command line read whole and safely: a regular file, "-" for stdin, a pipe or FIFO
// read as a stream; a directory or a device refused by name; everything bounded in size and in waiting.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet {

// The input cannot be read; the message names it ("stdin" for "-") and says what was found.
struct InputFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole of `path`, at most max_bytes (more: "too large"). "-" is stdin. Pipes and FIFOs are read as
// streams to their end; a FIFO that no writer opens within wait_ms, or a stream that sends nothing for
// wait_ms, is an error rather than a hang. Directories ("is a directory"), devices and sockets are refused.
std::vector<std::uint8_t> read_input_file(const std::string& path, std::size_t max_bytes,
                                          int wait_ms = 10000);

}  // namespace lenet
