// What the tests measure of their own process's memory.
#pragma once

namespace lenet::test {

// The peak resident set of this process so far (VmHWM of /proc/self/status), in kB; -1 if unknown.
long peak_rss_kb();

}  // namespace lenet::test
