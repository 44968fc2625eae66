// IDX data files (LeCun's MNIST format): idx1 label files and idx3 image files, raw or gzipped.
// Readers validate every header field and the exact file length, and throw DataError naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "lenet/dataset.h"

namespace lenet {

// Thrown for any unreadable, malformed or inconsistent data file; the message names the file and
// the expected vs found value.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Split { Train, Test };

// Sanity limits on idx3 headers: anything larger is a corrupt header, not a dataset.
inline constexpr int kIdxMaxCount = 100'000'000;
inline constexpr int kIdxMaxSide = 4096;

// Reads a whole file; if it starts with the gzip magic 1f 8b it is inflated with zlib, else returned raw.
std::vector<std::uint8_t> read_file_maybe_gzip(const std::string& path);
// The same on bytes already in memory; name_for_errors stands for the file in messages.
std::vector<std::uint8_t> inflate_if_gzip(std::vector<std::uint8_t> bytes,
                                          const std::string& name_for_errors);

// Labels from an idx1 ubyte file (magic 0x00000801); every label must be < num_classes.
std::vector<std::uint8_t> read_idx1_labels(const std::string& path, int num_classes = 10);

// Images from an idx3 ubyte file (magic 0x00000803); sets images, count, rows, cols (labels empty).
Dataset read_idx3_images(const std::string& path);

// The two readers above on a whole (inflated) file image in memory, for tests and fuzzing: the same checks
// and messages, name_for_errors standing for the path. Never read outside [data, data + size).
std::vector<std::uint8_t> parse_idx1_labels(const std::uint8_t* data, std::size_t size,
                                            const std::string& name_for_errors, int num_classes = 10);
Dataset parse_idx3_images(const std::uint8_t* data, std::size_t size, const std::string& name_for_errors);

// Images and labels from two files; the image and label counts must agree.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path);

// dir holds {train,t10k}-{images-idx3,labels-idx1}-ubyte, each optionally with .gz (MNIST as fetched
// by scripts/fetch_mnist.sh, and Debian's /usr/share/datasets/fashion-mnist, both work). Its images must
// be 28×28, what the network takes (DataError naming the images file, found and expected size).
Dataset load_split(const std::string& dir, Split split);

}  // namespace lenet
