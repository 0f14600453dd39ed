// Host-side conversions between float32 and the 16-bit float formats, round-to-nearest-even,
// used while staging uploads (Float32Array -> bfloat16/float16 storage) and reads (back to float32).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace wg {

inline uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t FloatToBf16(float f) {
  uint32_t u = Bits(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000) return uint16_t((u >> 16) | 0x0040);  // quiet NaN, keep sign
  u += 0x7FFF + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}

inline float Bf16ToFloat(uint16_t h) { return FromBits(uint32_t(h) << 16); }

inline uint16_t FloatToHalf(float f) {
  uint32_t x = Bits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t a = x & 0x7FFFFFFF;
  if (a > 0x7F800000) return sign | 0x7E00;               // NaN
  if (a >= 0x47800000) return sign | 0x7C00;              // >= 65536 (and inf): overflow
  if (a < 0x38800000) {                                   // below 2^-14: half subnormal (m · 2^-24) or zero
    float m = std::nearbyint(FromBits(a) * 16777216.0f);  // exact scaling, rounds to nearest even
    return sign | uint16_t(m);
  }
  uint32_t h = ((((a >> 23) - 127 + 15) & 0x1F) << 10) | ((a & 0x7FFFFF) >> 13);
  uint32_t rem = a & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;  // a carry into the exponent is correct (may reach inf)
  return sign | uint16_t(h);
}

inline float HalfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0) {
    float v = std::ldexp(float(m), -24);
    return sign ? -v : v;
  }
  if (e == 31) return FromBits(sign | 0x7F800000 | (m << 13));
  return FromBits(sign | ((e - 15 + 127) << 23) | (m << 13));
}

}  // namespace wg
