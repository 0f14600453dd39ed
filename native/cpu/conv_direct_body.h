// The body of the direct conv2d kernels (conv_direct.h), included by conv_direct_avx512.cc and
// conv_direct_avx2.cc inside namespace wgcpu::convdirect::<isa>, after:
//   struct V: W lanes, register type R, zero(), ld(p), ldm(p, n) (first n lanes, the rest 0, no
//   access past them), st(p, v), stm(p, n, v) (first n lanes), set1(x), fma(a, b, c) = a·b + c, hsum(v)
//   (a fixed order);
//   kMR × kNV: the forward's register tile (output channels × row segments of W pixels);
//   kMK × kMP: grad-weight's register tile (output channels × taps), each a vector over W pixels.
// Includes string.h and pool.h before.

namespace {

typedef V::R R;
constexpr int W = V::W;
constexpr int kPadSlot = 0, kPackSlot = 1, kOffSlot = 2, kFlipSlot = 3, kAccSlot = 4;  // Buf slots
// grad-weight's segments per block (16 KiB of packed dy on AVX-512)
constexpr int64_t kSegBlock = 64;
// images per chunk of a call: about this many floats of padded input (16 MiB), and of packed dy,
// so the per-thread buffers stay bounded whatever the batch (at least one image per chunk)
constexpr int64_t kChunkFloats = int64_t(4) << 20;

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t Max(int64_t a, int64_t b) { return a > b ? a : b; }

// Stride 1, one group, and at least half of the lanes and 3/4 of a tile's channels doing work;
// else the im2col + GEMM path is as fast or faster.
bool Fits(const ConvGeom& g, int64_t channels, int tileChannels) {
  if (g.groups != 1 || g.strideH != 1 || g.strideW != 1) return false;
  if (g.batch <= 0 || g.outH <= 0 || g.outW <= 0 || g.inC <= 0 || g.outC <= 0) return false;
  const int64_t rowLanes = CeilDiv(g.outW, W) * W;
  const int64_t tileRows = CeilDiv(channels, tileChannels) * tileChannels;
  return g.outW * 2 >= rowLanes && channels * 4 >= tileRows * 3;
}

struct PadJob {
  const float* x;
  float* xp;
  int64_t planes, per, H, Wd, Hp, Wp, padH, padW;
};

void PadTask(void* ctx, int64_t t, int) {
  auto* j = static_cast<PadJob*>(ctx);
  const int64_t p1 = Min(j->planes, (t + 1) * j->per);
  for (int64_t pl = t * j->per; pl < p1; pl++) {
    const float* src = j->x + pl * j->H * j->Wd;
    float* row = j->xp + pl * j->Hp * j->Wp;
    memset(row, 0, sizeof(float) * size_t(j->padH * j->Wp));
    row += j->padH * j->Wp;
    for (int64_t h = 0; h < j->H; h++, row += j->Wp) {
      for (int64_t e = 0; e < j->padW; e++) row[e] = 0;
      memcpy(row + j->padW, src + h * j->Wd, sizeof(float) * size_t(j->Wd));
      for (int64_t e = j->padW + j->Wd; e < j->Wp; e++) row[e] = 0;
    }
    memset(row, 0, sizeof(float) * size_t((j->Hp - j->padH - j->H) * j->Wp));
  }
}

// xp = the planes of x (H × Wd) zero-padded to Hp × Wp, then W zero floats (a segment's last lanes
// may read past the end of its row, never past the buffer).
void Pad(const float* x, int64_t planes, int64_t H, int64_t Wd, int64_t padH, int64_t padW, float* xp) {
  const int64_t Hp = H + 2 * padH, Wp = Wd + 2 * padW;
  PadJob j{x, xp, planes, Max(1, (int64_t(1) << 14) / Max(1, Hp * Wp)), H, Wd, Hp, Wp, padH, padW};
  ParallelFor(CeilDiv(planes, j.per), PadTask, &j);
  for (int e = 0; e < W; e++) xp[planes * Hp * Wp + e] = 0;
}

// off[p] for the tap p = (c·kH + r)·kW + s: where it reads in one padded image
void Offsets(const ConvGeom& g, int64_t C, int64_t Hp, int64_t Wp, int64_t* off) {
  for (int64_t c = 0, p = 0; c < C; c++)
    for (int64_t r = 0; r < g.kH; r++)
      for (int64_t s = 0; s < g.kW; s++) off[p++] = (c * Hp + r * g.dilationH) * Wp + s * g.dilationW;
}

// ---- forward ----

// kMR output channels (weights wt: [P][kMR]) × NV segments of W pixels; y rows of the tile L
// apart. Span: a segment's lanes continue on the next output row, read from xs2 (lanes set in bm).
template <int NV, bool Span>
inline void FwdTile(const float* __restrict wt, const int64_t* __restrict off, int64_t P, const float* const* xs,
                    const float* const* xs2, const V::Mask* bm, float* const* ys, const int* cnt, int64_t L,
                    int kvalid) {
  R acc[kMR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < kMR; i++)
#pragma GCC unroll 4
    for (int q = 0; q < NV; q++) acc[i][q] = V::zero();
  const float* xl[NV];
  const float* xl2[NV];
  V::Mask ml[NV];
#pragma GCC unroll 4
  for (int q = 0; q < NV; q++) {
    xl[q] = xs[q];
    xl2[q] = Span ? xs2[q] : xs[q];
    ml[q] = Span ? bm[q] : V::maskOf(0);
  }
  for (int64_t p = 0; p < P; p++) {
    const int64_t o = off[p];
    R xv[NV];
#pragma GCC unroll 4
    for (int q = 0; q < NV; q++) {
      if constexpr (Span) xv[q] = V::blend(ml[q], V::ld(xl[q] + o), V::ld(xl2[q] + o));
      else xv[q] = V::ld(xl[q] + o);
    }
    const float* wr = wt + p * kMR;
#pragma GCC unroll 16
    for (int i = 0; i < kMR; i++) {
      const R b = V::set1(wr[i]);
#pragma GCC unroll 4
      for (int q = 0; q < NV; q++) acc[i][q] = V::fma(b, xv[q], acc[i][q]);
    }
  }
  // constant indices only (a runtime index would keep acc in memory)
#pragma GCC unroll 16
  for (int i = 0; i < kMR; i++) {
    if (i >= kvalid) break;
#pragma GCC unroll 4
    for (int q = 0; q < NV; q++) {
      if (cnt[q] == W) V::st(ys[q] + i * L, acc[i][q]);
      else V::stm(ys[q] + i * L, cnt[q], acc[i][q]);
    }
  }
}

// FwdTile<kNV>, or the narrower tile of the last segments
template <bool Span, int NV = kNV>
inline void FwdTiles(int nv, const float* wt, const int64_t* off, int64_t P, const float* const* xs,
                     const float* const* xs2, const V::Mask* bm, float* const* ys, const int* cnt, int64_t L,
                     int kvalid) {
  if constexpr (NV > 1) {
    if (nv < NV) return FwdTiles<Span, NV - 1>(nv, wt, off, P, xs, xs2, bm, ys, cnt, L, kvalid);
  }
  FwdTile<NV, Span>(wt, off, P, xs, xs2, bm, ys, cnt, L, kvalid);
}

struct FwdJob {
  const float* xp;
  const float* wp;
  const int64_t* off;
  float* y;
  int64_t P, K, KT, L, outH, outW, cpr, S, imgStride, Wp, tilesPer, ntiles;
  // span: segments are W consecutive pixels of the flattened output plane (cpr = segments per
  // image), crossing into the next row; else W pixels of one row (cpr = segments per row)
  bool span;
};

// Segment s of a span job: where its lanes read (xs, and xs2 for the lanes in bm, which are on
// the next row), where it writes, and how many lanes it writes.
inline void SpanSegment(const FwdJob& j, int64_t s, const float** xs, const float** xs2, V::Mask* bm, float** ys,
                        int* cnt) {
  const int64_t n = s / j.cpr, q0 = (s % j.cpr) * W, oh = q0 / j.outW, ow0 = q0 % j.outW;
  const int64_t a = Min(W, j.outW - ow0);  // lanes on row oh
  const float* img = j.xp + n * j.imgStride;
  *xs = img + oh * j.Wp + ow0;
  const bool next = a < W && oh + 1 < j.outH;
  *xs2 = next ? img + (oh + 1) * j.Wp - a : *xs;  // lane i >= a reads column i - a of row oh + 1
  *bm = V::maskFrom(next ? int(a) : W);
  *ys = j.y + n * j.K * j.L + q0;
  *cnt = int(Min(W, j.L - q0));
}

void FwdTask(void* ctx, int64_t t, int) {
  const FwdJob& j = *static_cast<FwdJob*>(ctx);
  const int64_t t1 = Min(j.ntiles, (t + 1) * j.tilesPer);
  for (int64_t tile = t * j.tilesPer; tile < t1; tile++) {
    const int64_t s0 = tile * kNV;
    const int nv = int(Min(kNV, j.S - s0));
    const float* xs[kNV];
    const float* xs2[kNV];
    V::Mask bm[kNV];
    float* ys[kNV];
    int cnt[kNV];
    for (int q = 0; q < nv; q++) {
      const int64_t s = s0 + q;
      if (j.span) {
        SpanSegment(j, s, &xs[q], &xs2[q], &bm[q], &ys[q], &cnt[q]);
        continue;
      }
      const int64_t row = s / j.cpr, ow0 = (s % j.cpr) * W;  // row = n·outH + oh
      const int64_t n = row / j.outH, oh = row % j.outH;
      xs[q] = j.xp + n * j.imgStride + oh * j.Wp + ow0;
      ys[q] = j.y + n * j.K * j.L + oh * j.outW + ow0;
      cnt[q] = int(Min(W, j.outW - ow0));
    }
    for (int64_t kt = 0; kt < j.KT; kt++) {
      const int kvalid = int(Min(kMR, j.K - kt * kMR));
      const float* wt = j.wp + kt * j.P * kMR;
      float* yk[kNV];
      for (int q = 0; q < nv; q++) yk[q] = ys[q] + kt * kMR * j.L;
      if (j.span) FwdTiles<V::kCanSpan>(nv, wt, j.off, j.P, xs, xs2, bm, yk, cnt, j.L, kvalid);
      else FwdTiles<false>(nv, wt, j.off, j.P, xs, xs2, bm, yk, cnt, j.L, kvalid);
    }
  }
}

// Segments of W consecutive pixels of the flattened plane span at most two output rows
// (then each reads two row pieces), and the rows are not already a multiple of the vector.
bool SpanFits(int64_t outH, int64_t outW) {
  if (!V::kCanSpan || outW % W == 0) return false;
  const int64_t L = outH * outW;
  for (int64_t q0 = 0; q0 < L; q0 += W) {
    const int64_t last = Min(q0 + W, L) - 1;  // the last lane written
    if (last / outW > q0 / outW + 1) return false;
  }
  return true;
}

// The forward with weights read as w[k·P + p] (p = (c·kH + r)·kW + s).
int ForwardImpl(const ConvGeom& g, const float* x, const float* w, float* y) {
  if (!Fits(g, g.outC, kMR)) return 0;
  const int64_t C = g.inC, K = g.outC, P = C * g.kH * g.kW, L = g.outH * g.outW;
  const int64_t Hp = g.inH + 2 * g.padH, Wp = g.inW + 2 * g.padW;
  if (g.outH - 1 + g.dilationH * (g.kH - 1) >= Hp || g.outW - 1 + g.dilationW * (g.kW - 1) >= Wp) return 0;
  const int64_t img = C * Hp * Wp, nb = Min(g.batch, Max(1, ChunkFloats(kChunkFloats) / img));
  const int64_t KT = CeilDiv(K, kMR);
  // W floats before the images as well: a span segment's second piece may start before row 1
  float* xp0 = Buf(kPadSlot, nb * img + 2 * W);
  float* xp = xp0 ? xp0 + W : nullptr;
  float* wp = Buf(kPackSlot, KT * P * kMR);
  int64_t* off = reinterpret_cast<int64_t*>(Buf(kOffSlot, 2 * P));
  if (!xp || !wp || !off) return -1;
  for (int64_t kt = 0; kt < KT; kt++)
    for (int64_t p = 0; p < P; p++)
      for (int i = 0; i < kMR; i++) {
        const int64_t k = kt * kMR + i;
        wp[(kt * P + p) * kMR + i] = k < K ? w[k * P + p] : 0.0f;
      }
  Offsets(g, C, Hp, Wp, off);
  const bool span = SpanFits(g.outH, g.outW);
  const int64_t cpr = span ? CeilDiv(L, W) : CeilDiv(g.outW, W);
  for (int64_t n0 = 0; n0 < g.batch; n0 += nb) {
    const int64_t n = Min(nb, g.batch - n0);
    Pad(x + n0 * C * g.inH * g.inW, n * C, g.inH, g.inW, g.padH, g.padW, xp);
    const int64_t S = span ? n * cpr : n * g.outH * cpr, ntiles = CeilDiv(S, kNV);
    // about 8 tasks per thread (any grouping gives the same results)
    const int64_t tilesPer = Max(1, ntiles / (int64_t(NumThreads()) * 8));
    FwdJob j{xp, wp, off, y + n0 * K * L, P, K, KT, L, g.outH, g.outW, cpr, S, img, Wp, tilesPer, ntiles, span};
    ParallelFor(CeilDiv(ntiles, tilesPer), FwdTask, &j);
  }
  return 1;
}

// ---- grad-weight ----

struct GwSeg {
  int64_t id, ix;  // where the segment's W pixels start in dy and in xp
  int64_t n;       // lanes
};

struct GwJob {
  const float* xp;
  const float* dy;
  const int64_t* off;
  const GwSeg* seg;
  float* dyp;  // dy packed per channel tile: [kt][segment][kMK][W], 0 in the lanes past a row's end
  float* dw;
  int64_t K, P, L, S, KT, PT, pw, segsPer;
  bool finite;                 // every element of x is finite
  float* acc;                  // the tasks' accumulators between segment blocks
  int64_t groups, tpg;         // tap-tile groups per channel tile, tap tiles per group
  bool firstChunk, lastChunk;  // of the call's image chunks: start the sums, finish them
};

// No inf or NaN in p[0, n): x·0 is 0 for every element.
bool AllFinite(const float* p, int64_t n) {
  R z = V::zero();
  int64_t i = 0;
  for (; i + W <= n; i += W) z = V::fma(V::ld(p + i), V::zero(), z);
  float t = V::hsum(z);
  for (; i < n; i++) t += p[i] * 0.0f;
  return t == 0.0f;
}

void GwPackTask(void* ctx, int64_t t, int) {
  const GwJob& j = *static_cast<GwJob*>(ctx);
  const int64_t ntask = CeilDiv(j.S, j.segsPer), kt = t / ntask, s1 = Min(j.S, (t % ntask + 1) * j.segsPer);
  for (int64_t s = (t % ntask) * j.segsPer; s < s1; s++) {
    float* d = j.dyp + (kt * j.S + s) * kMK * W;
    const V::Mask m = V::maskOf(int(j.seg[s].n));
    for (int i = 0; i < kMK; i++) {
      const int64_t k = kt * kMK + i;
      V::st(d + i * W, k < j.K ? V::ldk(j.dy + k * j.L + j.seg[s].id, m) : V::zero());
    }
  }
}

// One tile: kMK output channels × MP taps, each accumulator a vector over the lanes of every
// segment (all images and rows), summed across its lanes at the end.
// One tile over segments [s0, s1): kMK output channels × MP taps, each accumulator a vector over
// the lanes of the segments, carried between segment blocks in mem (kMK·MP vectors; first: start
// from 0) and summed across its lanes after the last block. The blocks change no arithmetic: each
// lane still adds its products in segment order.
template <int MP, bool Masked>
void GwTile(const GwJob& j, int64_t kt, int64_t p0, int64_t s0, int64_t s1, float* mem, bool first, bool last) {
  R acc[kMK][MP];
#pragma GCC unroll 8
  for (int i = 0; i < kMK; i++)
#pragma GCC unroll 8
    for (int q = 0; q < MP; q++) acc[i][q] = first ? V::zero() : V::ld(mem + (i * MP + q) * W);
  const float* xb[MP];
#pragma GCC unroll 8
  for (int q = 0; q < MP; q++) xb[q] = j.xp + j.off[p0 + q];
  const float* d = j.dyp + (kt * j.S + s0) * kMK * W;
  const GwSeg* seg = j.seg;
  for (int64_t s = s0; s < s1; s++, d += kMK * W) {
    const int64_t ix = seg[s].ix;
    // unmasked: every x is finite (checked) and dy is 0 in the lanes past the row, so those lanes
    // add exactly ±0; masked loads cost a third of the time here (Zen 5)
    const V::Mask m = V::maskOf(Masked ? int(seg[s].n) : W);
    R dv[kMK];
#pragma GCC unroll 8
    for (int i = 0; i < kMK; i++) dv[i] = V::ld(d + i * W);
#pragma GCC unroll 8
    for (int q = 0; q < MP; q++) {
      const R xv = Masked ? V::ldk(xb[q] + ix, m) : V::ld(xb[q] + ix);
#pragma GCC unroll 8
      for (int i = 0; i < kMK; i++) acc[i][q] = V::fma(dv[i], xv, acc[i][q]);
    }
  }
  if (!last) {
#pragma GCC unroll 8
    for (int i = 0; i < kMK; i++)
#pragma GCC unroll 8
      for (int q = 0; q < MP; q++) V::st(mem + (i * MP + q) * W, acc[i][q]);
    return;
  }
  const int64_t k0 = kt * kMK;
  const int kvalid = int(Min(kMK, j.K - k0));
  // constant indices only (a runtime index would keep acc in memory)
#pragma GCC unroll 8
  for (int i = 0; i < kMK; i++) {
    if (i >= kvalid) break;
#pragma GCC unroll 8
    for (int q = 0; q < MP; q++) j.dw[(k0 + i) * j.P + p0 + q] = V::hsum(acc[i][q]);
  }
}

// GwTile<kMP>, or the narrower tile of the last taps
template <int MP>
void GwDispatch(const GwJob& j, int64_t kt, int64_t p0, int mp, int64_t s0, int64_t s1, float* mem) {
  if constexpr (MP > 1) {
    if (mp < MP) return GwDispatch<MP - 1>(j, kt, p0, mp, s0, s1, mem);
  }
  if (j.finite) GwTile<MP, false>(j, kt, p0, s0, s1, mem, j.firstChunk && s0 == 0, j.lastChunk && s1 == j.S);
  else GwTile<MP, true>(j, kt, p0, s0, s1, mem, j.firstChunk && s0 == 0, j.lastChunk && s1 == j.S);
}

// A task: channel tile kt, tap tiles [g·tpg, (g+1)·tpg), over blocks of segments: each block's
// dy (kSegBlock · kMK vectors) and x rows stay in L1 while the task's tap tiles pass over them.
void GwTask(void* ctx, int64_t t, int) {
  const GwJob& j = *static_cast<GwJob*>(ctx);
  const int64_t kt = t / j.groups, pt0 = (t % j.groups) * j.tpg, pt1 = Min(j.PT, pt0 + j.tpg);
  float* mem = j.acc + t * j.tpg * (kMK * kMP * W);
  for (int64_t s0 = 0; s0 < j.S; s0 += kSegBlock) {
    const int64_t s1 = Min(j.S, s0 + kSegBlock);
    for (int64_t pt = pt0; pt < pt1; pt++) {
      const int64_t p0 = pt * j.pw;
      GwDispatch<kMP>(j, kt, p0, int(Min(j.pw, j.P - p0)), s0, s1, mem + (pt - pt0) * (kMK * kMP * W));
    }
  }
}

}  // namespace

int Forward(const ConvGeom& g, const float* x, const float* w, float* y) { return ForwardImpl(g, x, w, y); }

// dx = the forward over dy zero-padded by q = d·(k-1) - pad, with w'[c, k, r, s] = w[k, c, kH-1-r, kW-1-s].
int GradInput(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  if (g.groups != 1 || g.strideH != 1 || g.strideW != 1) return 0;
  const int64_t qH = g.dilationH * (g.kH - 1) - g.padH, qW = g.dilationW * (g.kW - 1) - g.padW;
  if (qH < 0 || qW < 0) return 0;
  const ConvGeom t{g.batch, g.outC, g.outH, g.outW, g.inC, g.kH,        g.kW,        g.inH,
                   g.inW,   1,      1,      qH,     qW,    g.dilationH, g.dilationW, 1};
  if (t.inH + 2 * qH - g.dilationH * (g.kH - 1) != g.inH || t.inW + 2 * qW - g.dilationW * (g.kW - 1) != g.inW)
    return 0;
  if (!Fits(t, t.outC, kMR)) return 0;
  const int64_t K = g.outC, C = g.inC, kk = g.kH * g.kW;
  float* wf = Buf(kFlipSlot, C * K * kk);
  if (!wf) return -1;
  for (int64_t c = 0; c < C; c++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t e = 0; e < kk; e++) wf[(c * K + k) * kk + e] = w[(k * C + c) * kk + (kk - 1 - e)];
  return ForwardImpl(t, dy, wf, dx);
}

int GradWeight(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (!Fits(g, g.outC, kMK)) return 0;
  const int64_t C = g.inC, K = g.outC, P = C * g.kH * g.kW, L = g.outH * g.outW;
  const int64_t Hp = g.inH + 2 * g.padH, Wp = g.inW + 2 * g.padW;
  if (g.outH - 1 + g.dilationH * (g.kH - 1) >= Hp || g.outW - 1 + g.dilationW * (g.kW - 1) >= Wp) return 0;
  const int64_t img = C * Hp * Wp, cpr = CeilDiv(g.outW, W), KT = CeilDiv(K, kMK);
  const int64_t dyImg = KT * g.outH * cpr * kMK * W;  // packed dy floats per image
  const int64_t nb = Min(g.batch, Max(1, ChunkFloats(kChunkFloats) / Max(img, dyImg)));
  float* xp = Buf(kPadSlot, nb * img + W);
  int64_t* off = reinterpret_cast<int64_t*>(Buf(kOffSlot, 2 * P));
  GwSeg* seg = reinterpret_cast<GwSeg*>(Buf(kPackSlot, nb * g.outH * cpr * int64_t(sizeof(GwSeg) / sizeof(float))));
  float* dyp = Buf(kFlipSlot, nb * dyImg);
  // taps per tile: P split into equal tiles of at most kMP
  const int64_t ntp = CeilDiv(P, kMP), pw = CeilDiv(P, ntp), PT = CeilDiv(P, pw);
  // about four tasks per thread
  const int64_t groups = Min(PT, Max(1, CeilDiv(int64_t(NumThreads()) * 4, KT))), tpg = CeilDiv(PT, groups);
  float* acc = Buf(kAccSlot, KT * groups * tpg * kMK * kMP * W);
  if (!xp || !off || !seg || !dyp || !acc) return -1;
  Offsets(g, C, Hp, Wp, off);
  GwJob j;
  j.xp = xp, j.off = off, j.seg = seg, j.dyp = dyp, j.dw = dw, j.acc = acc;
  j.K = K, j.P = P, j.L = L, j.KT = KT, j.PT = PT, j.pw = pw, j.groups = groups, j.tpg = tpg;
  j.segsPer = Max(1, 2048 / (kMK * W));
  // each chunk continues every lane's sum where the last one stopped: the order of one chunk
  for (int64_t n0 = 0; n0 < g.batch; n0 += nb) {
    const int64_t n = Min(nb, g.batch - n0);
    Pad(x + n0 * C * g.inH * g.inW, n * C, g.inH, g.inW, g.padH, g.padW, xp);
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++)
      for (int64_t oh = 0; oh < g.outH; oh++)
        for (int64_t ow0 = 0; ow0 < g.outW; ow0 += W, s++)
          seg[s] = GwSeg{i * K * L + oh * g.outW + ow0, i * img + oh * Wp + ow0, Min(W, g.outW - ow0)};
    j.dy = dy + n0 * K * L, j.S = s;
    j.firstChunk = n0 == 0, j.lastChunk = n0 + n == g.batch;
    j.finite = AllFinite(x + n0 * C * g.inH * g.inW, n * C * g.inH * g.inW);
    ParallelFor(KT * CeilDiv(s, j.segsPer), GwPackTask, &j);
    ParallelFor(KT * groups, GwTask, &j);
  }
  return 1;
}
