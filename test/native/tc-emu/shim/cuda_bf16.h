// Host shim: __nv_bfloat16 as its 16 bits; conversions round to nearest even (native/src/convert.h,
// the same code the addon uses to stage uploads).
#pragma once
#include <cstdint>

#include "../../../../native/src/convert.h"

struct __nv_bfloat16 {
  uint16_t bits;
};
inline float __bfloat162float(__nv_bfloat16 h) { return wg::Bf16ToFloat(h.bits); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __nv_bfloat16{wg::FloatToBf16(f)}; }
