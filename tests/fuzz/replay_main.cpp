// Replays a fuzz target's seed corpus without libFuzzer (g++ has none): every file in the given
// directories goes once through LLVMFuzzerTestOneInput, so the normal and sanitizer builds check
// each seed on every test run. Exit 1 when no seed was found: an empty corpus must not pass.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  int seeds = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      std::cout << "seed " << entry.path().filename().string() << " (" << bytes.size()
                << " bytes)\n";
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++seeds;
    }
  }
  if (seeds == 0) {
    std::cerr << "no seeds found in the given corpus directories\n";
    return 1;
  }
  std::cout << seeds << " seeds replayed\n";
  return 0;
}
