// The per-picture loop that predict and read share: blocks of pictures answered on a small pool of
// threads, every answer (or error) printed in input order as soon as the ones before it are.
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "lenet/engine.h"
#include "lenet/input_file.h"

#if defined(__GLIBC__)  // defined by the C library's headers above
#include <malloc.h>
#endif

namespace lenet::app {

namespace {

// Blocks a thread may run ahead of the printing, per thread: bounds the answers held in memory.
constexpr std::size_t kBlocksAheadPerThread = 4;

void print_answer(std::FILE* out, bool json, const std::string& file, const ImageAnswer& a) {
  if (a.error.empty()) {
    std::fputs(a.text.c_str(), out);
  } else if (json) {
    std::fprintf(out, "%s\n", nlohmann::ordered_json({{"file", file}, {"error", a.error}}).dump().c_str());
  } else {
    std::fprintf(stderr, "lenet: error: %s\n", a.error.c_str());
  }
}

// A photo's working buffers are a few MB each (a 1024x768 float picture is 3 MB), above glibc's threshold
// for serving an allocation by mmap and giving it back on free: every photo then faulted in ~450 pages of
// fresh zeroed memory per MB, 15-20% of its CPU time in the kernel (perf, 100 phone photos). Kept in
// malloc's heap instead, they are reused from one picture to the next. The bound: a 40-Mpixel decode
// still goes to mmap, and at most kKeepFreeBytes of freed memory is held per heap.
void keep_picture_buffers() {
#if defined(__GLIBC__)
  constexpr int kHeapUpTo = 32 << 20, kKeepFreeBytes = 128 << 20;
  mallopt(M_MMAP_THRESHOLD, kHeapUpTo);
  mallopt(M_TRIM_THRESHOLD, kKeepFreeBytes);
#endif
}

}  // namespace

void answer_each_image(const std::vector<std::string>& images, bool json, int threads, std::FILE* out,
                       const std::function<AnswerBlock()>& make_worker) {
  keep_picture_buffers();
  const std::size_t count = images.size();
  const std::size_t blocks = (count + kImageBlock - 1) / kImageBlock;
  const int team = int(std::min<std::size_t>(std::size_t(threads > 0 ? threads : default_threads()),
                                             std::max<std::size_t>(blocks, 1)));
  const std::size_t window = kBlocksAheadPerThread * std::size_t(team);
  std::vector<ImageAnswer> answers(count);
  std::vector<char> done(blocks, 0);
  std::mutex mutex;
  std::condition_variable block_done, room;
  std::size_t next = 0, printed = 0;  // guarded by mutex: the next block to take, blocks printed
  std::exception_ptr failure;         // a worker that could not be made (e.g. out of memory)

  auto work = [&] {
    AnswerBlock answer_block;
    try {
      answer_block = make_worker();
    } catch (...) {
      const std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
      block_done.notify_all();
      room.notify_all();
      return;
    }
    for (;;) {
      std::size_t b = 0;
      {
        std::unique_lock lock(mutex);
        room.wait(lock, [&] { return failure || next >= blocks || next < printed + window; });
        if (failure || next >= blocks) return;
        b = next++;
      }
      const std::size_t first = b * kImageBlock, n = std::min(kImageBlock, count - first);
      const std::span<ImageAnswer> mine(answers.data() + first, n);
      try {
        answer_block(first, mine);
      } catch (const std::exception& e) {  // not one picture's fault (e.g. out of memory): the block's
        for (ImageAnswer& a : mine)
          if (a.error.empty() && a.text.empty()) a.error = e.what();
      }
      {
        const std::lock_guard lock(mutex);
        done[b] = 1;
      }
      block_done.notify_all();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(std::size_t(team));
  for (int t = 0; t < team; ++t) pool.emplace_back(work);

  int failed = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    {
      std::unique_lock lock(mutex);
      block_done.wait(lock, [&] { return failure || done[b]; });
      if (failure) break;
    }
    const std::size_t first = b * kImageBlock, n = std::min(kImageBlock, count - first);
    for (std::size_t i = first; i < first + n; ++i) {
      failed += !answers[i].error.empty();
      print_answer(out, json, images[i], answers[i]);
      answers[i] = ImageAnswer{};  // printed: its memory goes back
    }
    std::fflush(out);
    {
      const std::lock_guard lock(mutex);
      printed = b + 1;
    }
    room.notify_all();
  }
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (failed)
    throw CommandError(std::to_string(failed) + " of " + std::to_string(count) + " images could not be read");
}

std::vector<std::string> picture_list(const std::vector<std::string>& images, const std::string& files_from) {
  std::vector<std::string> all = images;
  if (!files_from.empty()) {
    for (const std::string& image : images)
      if (image == "-" && files_from == "-")
        throw CommandError("stdin cannot be both a picture ('-') and the list of --files-from -");
    // A list of 1 GiB names about 20 million pictures: more is refused rather than read into memory.
    const std::vector<std::uint8_t> bytes = read_input_file(files_from, std::size_t(1) << 30);
    std::size_t start = 0;
    while (start < bytes.size()) {
      std::size_t end = start;
      while (end < bytes.size() && bytes[end] != '\n') ++end;
      std::string line(bytes.begin() + std::ptrdiff_t(start), bytes.begin() + std::ptrdiff_t(end));
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) all.push_back(std::move(line));
      start = end + 1;
    }
  }
  if (all.empty())
    throw CommandError(files_from.empty()
                           ? "no pictures: name them as arguments or list them with --files-from"
                           : "--files-from " + files_from + " lists no pictures");
  return all;
}

GreyImage read_picture(const std::string& file, int min_side) {
  const std::vector<std::uint8_t> bytes = read_input_file(file, kMaxImageFileBytes);
  return decode_grey_image(bytes.data(), bytes.size(), file == "-" ? "stdin" : file, kMaxImagePixels,
                           min_side);
}

}  // namespace lenet::app
