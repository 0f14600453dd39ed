// Host shim: __half as its 16 bits; conversions round to nearest even (native/src/convert.h).
#pragma once
#include <cstdint>

#include "../../../../native/src/convert.h"

struct __half {
  uint16_t bits;
};
inline float __half2float(__half h) { return wg::HalfToFloat(h.bits); }
inline __half __float2half(float f) { return __half{wg::FloatToHalf(f)}; }
