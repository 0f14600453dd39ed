// Plain argument types of the CPU entry functions that the generated N-API unpacking
// (native/cpu/gen_<family>.cc, from native/manifest/cpu/<family>.mjs) calls. No N-API here: a
// kernel family's entry functions see only pointers, sizes, numbers and these.
#pragma once

#include <stdint.h>

namespace wgcpu {

// A JS array of typed arrays (manifest kind 'list'), e.g. the parameters of an optimizer group:
// data[i] points at list element i (nullptr only inside a nullable list that was null: then
// data is nullptr and count 0), length[i] is its element count.
template <class T>
struct ArrayList {
  T* const* data;
  const int64_t* length;
  int64_t count;
};

}  // namespace wgcpu
