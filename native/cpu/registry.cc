// The registry behind WGCPU_ENTRY (registry.h). A function-local vector, so registration order
// between translation units never matters.
#include "registry.h"

#include <vector>

namespace wgcpu {
namespace {
std::vector<Entry>& Table() {
  static std::vector<Entry> t;
  return t;
}
}  // namespace

int AddEntry(const char* jsName, EntryFn fn, const char* kernel) {
  Table().push_back(Entry{jsName, fn, kernel});
  return static_cast<int>(Table().size()) - 1;
}

const Entry* Entries(int* count) {
  *count = static_cast<int>(Table().size());
  return Table().data();
}

}  // namespace wgcpu
