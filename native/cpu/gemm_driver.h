// The GEMM driver, written once over a vector traits class V and instantiated in each ISA's
// translation unit (which defines V and includes this file inside its own namespace, so no
// AVX-512 copy of a function can stand in for the SSE2 one at link time).
//
// The BLIS/GotoBLAS structure:
//   for jc in n by NC:                   B panel KC×NC (L3), packed once, shared by all threads
//     for pc in k by KC:
//       pack B[pc:pc+KC, jc:jc+NC] into NR-column micro-panels (threads split the panels)
//       tasks = (ic block of ≤ MC rows) × (chunk of NR micro-panels), split over the threads:
//         pack A[ic:ic+mc, pc:pc+KC] into MR-row micro-panels (the thread's own L2 buffer)
//         for each run of L2P micro-panels of the chunk (KC×NR×L2P stays in L2):
//           for ir over the block: for jr over the run: MR×NR micro-kernel (acc in registers)
// The innermost loop walks along C's rows (each row a sequential stream the prefetchers follow)
// with the A micro-panel in L1 and the run of B micro-panels in L2; walking down C's columns
// instead (B micro-panel in L1) cost ~13% at 2048³ on a Zen 5 core: the C tile's rows, ldc
// apart, came from memory on every call. The ic blocks are sized per problem so that the tasks
// split evenly over the threads (512 rows, 2 threads: blocks of 10, 9, 9, 9 strips of 14 rows,
// not 16, 16, 5).
// Packing absorbs the transposes (the micro-kernel never sees a stride) and zero-pads the
// edges, so the micro-kernel is the one loop that matters. Each output element is summed over
// k in one order (pc blocks of KC in sequence, p within) whatever the split: the split of m and
// n over tasks and threads never changes an element's arithmetic, so results do not depend on
// the thread count (KC is a constant of the ISA, never derived from the thread count).
// Small problems (m*n*k up to kSmallWork, m < 4, a few shapes up to 32³: IsSmall) skip packing:
// vector axpy rows (B not transposed) or vector dot products (B transposed). x·Wᵀ with few rows
// (B transposed, m ≤ 4·NR: a linear layer at a small batch; narrow heads at any m, in row chunks)
// takes GemmRowsB: W read in place, only op(A) packed, the same per-element arithmetic as the
// packed path (bit-identical). Likewise a B that is not transposed is read in place for A of at
// most kBInPlaceStrips strips (dX = dY·W, dW = dYᵀ·X at few rows).
//
// Requires before inclusion: T, V (W lanes; zero, load, store, set1, fma, add, hsum),
// MR, NV (NR = NV*W), KC, MC (the largest ic block), NC constants, and these names unused.

static const int64_t NR = NV * V::W;
// B micro-panels per L2-resident run: about 256 KiB of packed B (a quarter of a 1 MiB L2, next to
// the thread's A block)
static const int64_t L2P = (256 * 1024) / (KC * NR * int64_t(sizeof(T))) > 0
                               ? (256 * 1024) / (KC * NR * int64_t(sizeof(T)))
                               : 1;
// Work (m·n·k) up to which every product takes the unpacked small path. It was 32³: the packed
// path beat it 2-10x above 8192 (Zen 5, AVX-512, 1 thread: 32×32×32 Bᵀ 13 -> 131 GFLOP/s,
// 24³ 13 -> 54, 12×64×40 Bᵀ 11 -> 79, 32×8×128 3 -> 26, 8×128×32 115 -> 169), except the
// shapes IsSmall keeps on it up to 32³.
static const int64_t kSmallWork = 8192;
// GemmPacked reads B (not transposed) in place when A has at most this many MR-row strips: a
// B panel is then read by few strips, and copying it cost more than it saved (Zen 5, AVX-512,
// 1 thread, CPU time: 32×784×256 64% -> 88% of the FMA peak, 10×256×32 (Aᵀ) 40% -> 82%,
// 100×1000×300 90% -> 96% and 64×512×512 85% -> 103% of 1024³'s speed in the same run; AVX2
// 24×1024×1024 60 -> 80 GFLOP/s, 48×1000×1000 unchanged within the noise)
static const int64_t kBInPlaceStrips = 8;

static inline int64_t Min64(int64_t a, int64_t b) { return a < b ? a : b; }

// ap[(i/MR)*kc*MR + p*MR + i%MR] = op(A)(ic+i, pc+p), rows past mc zero.
static void PackA(const T* A, int64_t ars, int64_t acs, int64_t mc, int64_t kc, T* ap) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    int64_t h = Min64(MR, mc - i0);
    const T* src = A + i0 * ars;
    if (acs == 1 && h == MR) {
      // A row-major, a full panel: read the MR rows side by side (MR sequential streams) and
      // write the panel once, in order (row by row with stride MR was 2.8x slower: each store
      // touched another line; packing was ~3% of a 2048³ product)
      for (int64_t p = 0; p < kc; p++) {
#pragma GCC unroll 32
        for (int i = 0; i < MR; i++) ap[p * MR + i] = src[i * ars + p];
      }
    } else if (acs == 1) {
      // A row-major, an edge panel (h < MR rows): as the full panels, the h rows side by side and
      // the panel written once in order, the rows past h zero
      for (int64_t p = 0; p < kc; p++) {
        int64_t i = 0;
        for (; i < h; i++) ap[p * MR + i] = src[i * ars + p];
        for (; i < MR; i++) ap[p * MR + i] = 0;
      }
    } else {
      for (int64_t p = 0; p < kc; p++) {
        const T* c = src + p * acs;
        int64_t i = 0;
        for (; i < h; i++) ap[p * MR + i] = c[i * ars];
        for (; i < MR; i++) ap[p * MR + i] = 0;
      }
    }
    ap += kc * MR;
  }
}

// bp[(j/NR)*kc*NR + p*NR + j%NR] = op(B)(pc+p, jc+j) for panels [j0, j1) (in NR units)
static void PackB(const T* B, int64_t brs, int64_t bcs, int64_t nc, int64_t kc, int64_t j0, int64_t j1, T* bp) {
  for (int64_t jp = j0; jp < j1; jp++) {
    int64_t j = jp * NR;
    int64_t w = Min64(NR, nc - j);
    T* dst = bp + jp * kc * NR;
    const T* src = B + j * bcs;
    if (bcs == 1 && w == NR) {
      for (int64_t p = 0; p < kc; p++) {
        const T* r = src + p * brs;
        for (int64_t v = 0; v < NV; v++) V::store(dst + p * NR + v * V::W, V::load(r + v * V::W));
      }
    } else if (bcs == 1) {
      for (int64_t p = 0; p < kc; p++) {
        const T* r = src + p * brs;
        int64_t jj = 0;
        for (; jj < w; jj++) dst[p * NR + jj] = r[jj];
        for (; jj < NR; jj++) dst[p * NR + jj] = 0;
      }
    } else if (w == NR && brs == 1) {
      // B transposed (x·Wᵀ of a linear layer), a full panel: NR columns side by side, the panel
      // written once in order (as PackA's full panels); an ISA may transpose blocks in registers
      // first (WG_GEMM_PACK_T: PackTFull returns the p it reached)
#ifdef WG_GEMM_PACK_T
      const int64_t pt = PackTFull(src, bcs, kc, dst);
#else
      const int64_t pt = 0;
#endif
      for (int64_t p = pt; p < kc; p++) {
#pragma GCC unroll 64
        for (int64_t jj = 0; jj < NR; jj++) dst[p * NR + jj] = src[jj * bcs + p];
      }
    } else if (brs == 1) {
      // B transposed, an edge panel (w < NR columns): the w columns side by side, the panel written
      // once in order (column by column, every store hit another line: conv grad-weight's
      // 16x25x20384 product, one 25-wide panel, spent most of its time here)
      for (int64_t p = 0; p < kc; p++) {
        int64_t jj = 0;
        for (; jj < w; jj++) dst[p * NR + jj] = src[jj * bcs + p];
        for (; jj < NR; jj++) dst[p * NR + jj] = 0;
      }
    } else {
      // general strides: column j of op(B) walked in p
      for (int64_t jj = 0; jj < w; jj++) {
        const T* c = src + jj * bcs;
        for (int64_t p = 0; p < kc; p++) dst[p * NR + jj] = c[p * brs];
      }
      for (int64_t jj = w; jj < NR; jj++)
        for (int64_t p = 0; p < kc; p++) dst[p * NR + jj] = 0;
    }
  }
}

// c (ldc apart) (=|+=) ap-panel · bp-panel over kc; the MR×NR tile lives in registers.
// cnext: the tile the next call updates, fetched into L2 while this one computes; this tile's
// own rows are fetched into L1 a few k steps before the end (earlier, 2·MR lines ldc apart
// would fight the B panel for the same L1 sets when ldc is a power of two).
// H ≤ MR: only the first H rows of the A panel (edge strips; the panel stride stays MR). Each
// element's sum over p is the same whatever H, so edges round exactly like the interior.
// IN: the B panel is op(B) in place, its rows ldb apart (a full NR-wide panel of a B that is not
// transposed), instead of a packed micro-panel; the arithmetic is the same.
template <int H, bool IN = false>
static inline void MicroT(int64_t kc, const T* __restrict ap, const T* __restrict bp, T* c, int64_t ldc, bool acc,
                          const T* cnext, int64_t ldb = NR) {
  typename V::R r[H][NV];
#pragma GCC unroll 32
  for (int i = 0; i < H; i++) {
    __builtin_prefetch(cnext + i * ldc, 1, 2);
    __builtin_prefetch(cnext + i * ldc + NR - 1, 1, 2);
  }
#pragma GCC unroll 32
  for (int i = 0; i < H; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) r[i][v] = V::zero();
  auto step = [&]() __attribute__((always_inline)) {
    typename V::R b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = V::load(bp + v * V::W);
#pragma GCC unroll 32
    for (int i = 0; i < H; i++) {
      typename V::R a = V::set1(ap[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) r[i][v] = V::fma(a, b[v], r[i][v]);
    }
    ap += MR;
    bp += IN ? ldb : NR;
  };
  const int64_t tail = kc < 32 ? kc : 32;
  for (int64_t p = 0; p < kc - tail; p++) step();
#pragma GCC unroll 32
  for (int i = 0; i < H; i++) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
  for (int64_t p = 0; p < tail; p++) step();
#pragma GCC unroll 32
  for (int i = 0; i < H; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      T* o = c + i * ldc + v * V::W;
      V::store(o, acc ? V::add(V::load(o), r[i][v]) : r[i][v]);
    }
}

static inline void Micro(int64_t kc, const T* __restrict ap, const T* __restrict bp, T* c, int64_t ldc, bool acc,
                         const T* cnext) {
  MicroT<MR>(kc, ap, bp, c, ldc, acc, cnext);
}

// Edge strips compute only their h rows (an m = 32 product with MR = 14 wasted 10 of 42 rows).
typedef void (*MicroFn)(int64_t, const T*, const T*, T*, int64_t, bool, const T*, int64_t);
template <int H, bool IN>
struct EdgeTable {
  static void Fill(MicroFn* t) {
    t[H] = MicroT<H, IN>;
    EdgeTable<H - 1, IN>::Fill(t);
  }
};
template <bool IN>
struct EdgeTable<0, IN> {
  static void Fill(MicroFn*) {}
};
struct EdgeFnTable {
  MicroFn fn[MR + 1], in[MR + 1];
  EdgeFnTable() : fn(), in() {
    EdgeTable<MR, false>::Fill(fn);
    EdgeTable<MR, true>::Fill(in);
  }
};
static const EdgeFnTable& EdgeTables() {
  static const EdgeFnTable table;  // thread-safe initialisation (C++11 function-local static)
  return table;
}
static const MicroFn* EdgeFns() { return EdgeTables().fn; }

// An edge tile (h < MR rows or w < NR columns valid): compute its h rows at full width in a
// buffer, copy the valid part. Same arithmetic as a full tile, so edges round like the interior.
static void MicroEdge(int64_t kc, const T* ap, const T* bp, T* c, int64_t ldc, bool acc, int64_t h, int64_t w) {
  alignas(64) T tile[MR * NR];
  if (h == MR && w == NR) return Micro(kc, ap, bp, c, ldc, acc, c);
  EdgeFns()[h](kc, ap, bp, tile, NR, false, c, NR);
  for (int64_t i = 0; i < h; i++)
    for (int64_t j = 0; j < w; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

struct Problem {
  const T* A;
  const T* B;
  T* C;
  int64_t m, n, k, ars, acs, brs, bcs;
};

struct BlockJob {
  const Problem* pr;
  int64_t jc, nc, pc, kc;
  int64_t nIc, strips, panelsPerChunk, nChunks, nPanels;
  T* bp;
  const T* bIn;  // op(B)[pc, jc] in place (rows ldb apart) for the full panels, or null (all packed)
  int64_t ldb;
  const T* preA;  // this pc block's A strips packed by PackAAll, or null (each task packs its block)
  bool acc;
  bool oom;
};

static void PackBTask(void* vctx, int64_t t, int thread) {
  BlockJob* j = static_cast<BlockJob*>(vctx);
  const Problem& pr = *j->pr;
  int64_t j0 = t * j->panelsPerChunk, j1 = Min64(j->nPanels, j0 + j->panelsPerChunk);
  PackB(pr.B + j->pc * pr.brs + j->jc * pr.bcs, pr.brs, pr.bcs, j->nc, j->kc, j0, j1, j->bp);
}

static void BlockTask(void* vctx, int64_t t, int thread) {
  BlockJob* j = static_cast<BlockJob*>(vctx);
  const Problem& pr = *j->pr;
  int64_t icb = t / j->nChunks, chunk = t % j->nChunks;
  // block icb: MR-row strips [icb·strips/nIc, (icb+1)·strips/nIc), sizes within one strip
  int64_t ic = icb * j->strips / j->nIc * MR, mc = Min64((icb + 1) * j->strips / j->nIc * MR, pr.m) - ic;
  T* ap;
  if (j->preA) {
    ap = const_cast<T*>(j->preA) + (ic / MR) * j->kc * MR;  // the strips PackA would write here
  } else {
    ap = static_cast<T*>(wgcpu::Scratch(thread, 0, sizeof(T) * MC * KC));
    if (!ap) {
      j->oom = true;
      return;
    }
    PackA(pr.A + ic * pr.ars + j->pc * pr.acs, pr.ars, pr.acs, mc, j->kc, ap);
  }
  int64_t jp0 = chunk * j->panelsPerChunk, jp1 = Min64(j->nPanels, jp0 + j->panelsPerChunk);
  for (int64_t jq = jp0; jq < jp1; jq += L2P) {
    int64_t jq1 = Min64(jp1, jq + L2P);
    for (int64_t ir = 0; ir < mc; ir += MR) {
      int64_t h = Min64(MR, mc - ir);
      const T* apan = ap + (ir / MR) * j->kc * MR;
      T* crow = pr.C + (ic + ir) * pr.n + j->jc;
      for (int64_t jp = jq; jp < jq1; jp++) {
        int64_t jr = jp * NR, w = Min64(NR, j->nc - jr);
        const T* bpan = j->bp + jp * j->kc * NR;
        T* c = crow + jr;
        // the next call's tile: along the row, or the start of the run on the next MR rows
        const T* cnext = jp + 1 < jq1 ? c + NR : crow + MR * pr.n + jq * NR;
        if (j->bIn && w == NR) {
          // B in place: all h rows at full width straight into C (same sums as through a tile)
          const T* b = j->bIn + jr;
          if (h == MR) MicroT<MR, true>(j->kc, apan, b, c, pr.n, j->acc, cnext, j->ldb);
          else EdgeTables().in[h](j->kc, apan, b, c, pr.n, j->acc, cnext, j->ldb);
          continue;
        }
        if (h == MR && w == NR) Micro(j->kc, apan, bpan, c, pr.n, j->acc, cnext);
        else MicroEdge(j->kc, apan, bpan, c, pr.n, j->acc, h, w);
      }
    }
  }
}

// Pre-packed B (PackBAll): every (jc, pc) block's panels as PackB writes them, the jc blocks in
// order (each full one PanelsOf(NC) panels wide), within one the pc blocks in order.
static int64_t PanelsOf(int64_t nc) { return (nc + NR - 1) / NR; }
static int64_t PackedBOffset(int64_t jc, int64_t pc, int64_t nc, int64_t k) {
  return (jc / NC) * PanelsOf(NC) * NR * k + pc * PanelsOf(nc) * NR;
}

// One matrix, packed path. `parallel`: split over the pool; else all on `thread`. `pre`: op(B)
// already packed by PackBAll (no packing here; the arithmetic is the same).
static bool GemmPacked(const Problem& pr, bool parallel, int thread, const T* pre = nullptr, const T* preA = nullptr) {
  int threads = parallel ? wgcpu::NumThreads() : 1;
  for (int64_t jc = 0; jc < pr.n; jc += NC) {
    int64_t nc = Min64(NC, pr.n - jc);
    int64_t nPanels = (nc + NR - 1) / NR;
    // the calling thread's buffer (per OS thread: a GEMM nested in a pool task, or one on a second
    // JS thread, has its own), shared read-only with the workers during the BlockTask job
    T* bp = pre ? nullptr : static_cast<T*>(wgcpu::Scratch(thread, 1, sizeof(T) * KC * nPanels * NR));
    if (!pre && !bp) return false;
    for (int64_t pc = 0; pc < pr.k; pc += KC) {
      BlockJob j;
      j.pr = &pr;
      j.jc = jc;
      j.nc = nc;
      j.pc = pc;
      j.kc = Min64(KC, pr.k - pc);
      // ic blocks of whole MR-row strips, at most MC rows, sizes within one strip of each other,
      // their count a multiple of the threads when there are enough strips: even tasks
      int64_t strips = (pr.m + MR - 1) / MR, maxStrips = MC / MR;
      int64_t nIc = (strips + maxStrips - 1) / maxStrips;
      if (threads > 1 && strips >= threads) nIc = Min64(strips, (nIc + threads - 1) / threads * threads);
      j.strips = strips;
      j.nIc = nIc;
      j.nPanels = nPanels;
      // two tasks per thread at least (uneven strips then still even out): when the ic blocks
      // are fewer, chunks of panels as well (each task packs its own copy of the A block)
      int64_t chunks = 1;
      if (threads > 1 && j.nIc < 2 * threads) chunks = Min64(nPanels, (2 * threads + j.nIc - 1) / j.nIc);
      j.panelsPerChunk = (nPanels + chunks - 1) / chunks;
      j.nChunks = (nPanels + j.panelsPerChunk - 1) / j.panelsPerChunk;
      j.bp = pre ? const_cast<T*>(pre) + PackedBOffset(jc, pc, nc, pr.k) : bp;
      j.preA = preA ? preA + pc * strips * MR : nullptr;
      j.acc = pc > 0;
      j.oom = false;
      // few strips of A and B not transposed: each B panel is read only by those strips, so the
      // full panels are read in place (no copy of op(B)), only an edge panel is packed
      j.bIn = !pre && pr.bcs == 1 && strips <= kBInPlaceStrips ? pr.B + pc * pr.brs + jc : nullptr;
      j.ldb = pr.brs;
      if (j.bIn) {
        if (nc % NR) PackB(pr.B + pc * pr.brs + jc, pr.brs, 1, nc, j.kc, nPanels - 1, nPanels, bp);
        if (parallel) wgcpu::ParallelFor(j.nIc * j.nChunks, BlockTask, &j);
        else
          for (int64_t t = 0; t < j.nIc * j.nChunks; t++) BlockTask(&j, t, thread);
      } else if (pre) {
        if (parallel) wgcpu::ParallelFor(j.nIc * j.nChunks, BlockTask, &j);
        else
          for (int64_t t = 0; t < j.nIc * j.nChunks; t++) BlockTask(&j, t, thread);
      } else if (parallel) {
        BlockJob pj = j;
        int64_t packChunks = Min64(nPanels, threads);
        pj.panelsPerChunk = (nPanels + packChunks - 1) / packChunks;
        wgcpu::ParallelFor((nPanels + pj.panelsPerChunk - 1) / pj.panelsPerChunk, PackBTask, &pj);
        wgcpu::ParallelFor(j.nIc * j.nChunks, BlockTask, &j);
      } else {
        PackB(pr.B + pc * pr.brs + jc * pr.bcs, pr.brs, pr.bcs, nc, j.kc, 0, nPanels, bp);
        for (int64_t t = 0; t < j.nIc * j.nChunks; t++) BlockTask(&j, t, thread);
      }
      if (j.oom) return false;
    }
  }
  return true;
}

// ---- x·Wᵀ with few rows (a linear layer at a small batch): Cᵀ = W·op(A)ᵀ, W read in place ----
// op(B) = Wᵀ, W (n×k) row-major (brs = 1): GemmPacked packs all n×k of W (a transposing gather,
// most of a 32×256×784 product's time) for only m rows of output. Here W's rows are the
// micro-kernel's A rows, read where they lie (broadcasts from H row streams), op(A)ᵀ (k×m, m×k
// elements) is packed into NR-column panels by PackB, and each tile is written to C transposed.
// Every element is summed exactly as GemmPacked sums it (pc blocks of KC in order, one FMA chain
// from zero per block, added to C after the first), so the two paths are bit-identical and
// GemmPrepacked (a pre-packed W) still equals Gemm.

// tile[i*NR + v*W + l] = Σ_p w[i*lda + p] · bp[p*NR + v*W + l] over kc, i < H (H rows of W)
// U ≤ NV: only the first U vectors of each row (the last panel of an m that is no multiple of NR;
// the lanes computed are computed as in a full tile).
template <int H, int U>
static inline void MicroRowsT(int64_t kc, const T* __restrict w, int64_t lda, const T* __restrict bp, T* tile) {
  typename V::R r[H][U];
#pragma GCC unroll 32
  for (int i = 0; i < H; i++)
#pragma GCC unroll 4
    for (int v = 0; v < U; v++) r[i][v] = V::zero();
  for (int64_t p = 0; p < kc; p++) {
    typename V::R b[U];
#pragma GCC unroll 4
    for (int v = 0; v < U; v++) b[v] = V::load(bp + v * V::W);
#pragma GCC unroll 32
    for (int i = 0; i < H; i++) {
      typename V::R a = V::set1(w[i * lda + p]);
#pragma GCC unroll 4
      for (int v = 0; v < U; v++) r[i][v] = V::fma(a, b[v], r[i][v]);
    }
    bp += NR;
  }
#pragma GCC unroll 32
  for (int i = 0; i < H; i++)
#pragma GCC unroll 4
    for (int v = 0; v < U; v++) V::store(tile + i * NR + v * V::W, r[i][v]);
}

typedef void (*MicroRowsFn)(int64_t, const T*, int64_t, const T*, T*);
// fn[h][u]: MicroRowsT<h, u> for 1 ≤ h ≤ MR, 1 ≤ u ≤ NV
template <int H, int U>
struct RowsTable {
  static void Fill(MicroRowsFn (*t)[NV + 1]) {
    t[H][U] = MicroRowsT<H, U>;
    RowsTable<H, U - 1>::Fill(t);
  }
};
template <int H>
struct RowsTable<H, 0> {
  static void Fill(MicroRowsFn (*t)[NV + 1]) { RowsTable<H - 1, NV>::Fill(t); }
};
template <int U>
struct RowsTable<0, U> {
  static void Fill(MicroRowsFn (*)[NV + 1]) {}
};
struct RowsFnTable {
  MicroRowsFn fn[MR + 1][NV + 1];
  RowsFnTable() : fn() { RowsTable<MR, NV>::Fill(fn); }
};
static const MicroRowsFn (*RowsFns())[NV + 1] {
  static const RowsFnTable table;
  return table.fn;
}

struct RowsJob {
  const Problem* pr;
  int64_t pc, kc, nPanels, stripsPerTask, strips;
  const T* bp;  // op(A)ᵀ[pc:pc+kc, :] in NR-column panels
  bool acc;
};

// strips [t·stripsPerTask, …) of MR rows of W (MR columns of C), all of C's rows
static void RowsTask(void* vctx, int64_t t, int thread) {
  RowsJob* j = static_cast<RowsJob*>(vctx);
  const Problem& pr = *j->pr;
  const MicroRowsFn(*fns)[NV + 1] = RowsFns();
  alignas(64) T tile[MR * NR];
  int64_t s1 = Min64(j->strips, (t + 1) * j->stripsPerTask);
  for (int64_t s = t * j->stripsPerTask; s < s1; s++) {
    int64_t j0 = s * MR, h = Min64(MR, pr.n - j0);
    const T* w = pr.B + j0 * pr.bcs + j->pc;
    for (int64_t q = 0; q < j->nPanels; q++) {
      int64_t i0 = q * NR, wi = Min64(NR, pr.m - i0);
      fns[h][(wi + V::W - 1) / V::W](j->kc, w, pr.bcs, j->bp + q * j->kc * NR, tile);
      for (int64_t i = 0; i < wi; i++) {
        T* c = pr.C + (i0 + i) * pr.n + j0;
        if (j->acc)
          for (int64_t jj = 0; jj < h; jj++) c[jj] = c[jj] + tile[jj * NR + i];
        else
          for (int64_t jj = 0; jj < h; jj++) c[jj] = tile[jj * NR + i];
      }
    }
  }
}

// Whether a packed-path product takes GemmRowsB: B transposed, few rows (at most four panels of
// op(A)ᵀ, 256 KiB of them per KC block on AVX-512; each MR-row strip of W is read from memory
// once and from L1 for the other panels). On a Zen 5 core (AVX-512, 1 thread) it beat GemmPacked
// up to m = 8·NR: 64×1024×1024 87% vs 69% of the FMA peak, 128×1024×1024 86% vs 74%,
// 256×1024×784 86% vs 80%; the bound stays at 4·NR (the op(A)ᵀ panels' L2 share).
// Narrow outputs (n ≤ NR/2: a classifier head) take it at any m, in chunks of 4·NR rows (C's
// rows depend on A's rows only; W, a few rows, is read again per chunk), the chunks over the
// threads (the dot-product path took them on one): 256×10×256 54 -> 125 GFLOP/s, 512×10×784
// 72 -> 110, 1024×10×1024 73 -> 87, 4096×10×512 67 -> 110 (1 thread, AVX-512)
static const int64_t kRowsBRows = 4 * NR;
static bool TakesRowsB(const Problem& pr) {
  return pr.brs == 1 && pr.bcs != 1 && (pr.m <= kRowsBRows || pr.n * 2 <= NR);
}

static bool GemmRowsB(const Problem& pr, bool parallel, int thread);

struct RowsChunkJob {
  const Problem* pr;
  bool oom;
};

static void RowsChunkTask(void* vctx, int64_t t, int thread) {
  RowsChunkJob* j = static_cast<RowsChunkJob*>(vctx);
  Problem sub = *j->pr;
  sub.A = sub.A + t * kRowsBRows * sub.ars;
  sub.C = sub.C + t * kRowsBRows * sub.n;
  sub.m = Min64(kRowsBRows, j->pr->m - t * kRowsBRows);
  if (!GemmRowsB(sub, false, thread)) j->oom = true;
}

static bool GemmRowsB(const Problem& pr, bool parallel, int thread) {
  if (pr.m > kRowsBRows) {
    RowsChunkJob cj{&pr, false};
    const int64_t chunks = (pr.m + kRowsBRows - 1) / kRowsBRows;
    if (parallel && wgcpu::NumThreads() > 1) wgcpu::ParallelFor(chunks, RowsChunkTask, &cj);
    else
      for (int64_t t = 0; t < chunks; t++) RowsChunkTask(&cj, t, thread);
    return !cj.oom;
  }
  const int64_t nPanels = (pr.m + NR - 1) / NR, strips = (pr.n + MR - 1) / MR;
  T* bp = static_cast<T*>(wgcpu::Scratch(thread, 1, sizeof(T) * KC * nPanels * NR));
  if (!bp) return false;
  int threads = parallel ? wgcpu::NumThreads() : 1;
  for (int64_t pc = 0; pc < pr.k; pc += KC) {
    RowsJob j;
    j.pr = &pr;
    j.pc = pc;
    j.kc = Min64(KC, pr.k - pc);
    j.nPanels = nPanels;
    j.strips = strips;
    j.bp = bp;
    j.acc = pc > 0;
    // op(A)ᵀ as op(B') with B' = A: op(B')(p, i) = op(A)(i, p)
    PackB(pr.A + pc * pr.acs, pr.acs, pr.ars, pr.m, j.kc, 0, nPanels, bp);
    // a few strips per task, at least two tasks per thread when there are enough strips
    int64_t tasks = threads > 1 ? Min64(strips, 2 * threads) : 1;
    j.stripsPerTask = (strips + tasks - 1) / tasks;
    tasks = (strips + j.stripsPerTask - 1) / j.stripsPerTask;
    if (threads > 1 && tasks > 1) wgcpu::ParallelFor(tasks, RowsTask, &j);
    else
      for (int64_t t = 0; t < tasks; t++) RowsTask(&j, t, thread);
  }
  return true;
}

// Small problems: no packing. Columns [j0, j1) of rows [0, m).
static void GemmSmallCols(const Problem& pr, int64_t j0, int64_t j1) {
  const int64_t m = pr.m, n = pr.n, k = pr.k;
  if (pr.bcs == 1) {
    // B rows contiguous in j: C[i, j:j+W*4] = Σ_p A(i,p) · B[p, j:j+W*4], accumulators in registers
    for (int64_t i = 0; i < m; i++) {
      const T* a = pr.A + i * pr.ars;
      T* c = pr.C + i * n;
      int64_t j = j0;
      for (; j + 4 * V::W <= j1; j += 4 * V::W) {
        typename V::R r0 = V::zero(), r1 = V::zero(), r2 = V::zero(), r3 = V::zero();
        const T* b = pr.B + j;
        for (int64_t p = 0; p < k; p++, b += pr.brs) {
          typename V::R av = V::set1(a[p * pr.acs]);
          r0 = V::fma(av, V::load(b), r0);
          r1 = V::fma(av, V::load(b + V::W), r1);
          r2 = V::fma(av, V::load(b + 2 * V::W), r2);
          r3 = V::fma(av, V::load(b + 3 * V::W), r3);
        }
        V::store(c + j, r0);
        V::store(c + j + V::W, r1);
        V::store(c + j + 2 * V::W, r2);
        V::store(c + j + 3 * V::W, r3);
      }
      for (; j + V::W <= j1; j += V::W) {
        typename V::R r0 = V::zero();
        const T* b = pr.B + j;
        for (int64_t p = 0; p < k; p++, b += pr.brs) r0 = V::fma(V::set1(a[p * pr.acs]), V::load(b), r0);
        V::store(c + j, r0);
      }
      for (; j < j1; j++) {
        T s = 0;
        const T* b = pr.B + j;
        for (int64_t p = 0; p < k; p++, b += pr.brs) s = V::fmas(a[p * pr.acs], *b, s);
        c[j] = s;
      }
    }
    return;
  }
  // B transposed: column j of op(B) is contiguous in p; dot products, vectorised over p when A's
  // rows are too (W partial sums, reduced in a fixed order, then the tail)
  for (int64_t i = 0; i < m; i++) {
    const T* a = pr.A + i * pr.ars;
    int64_t j = j0;
    if (pr.acs == 1) {
      // four columns at a time: 8 independent FMA chains (2 would wait on the FMA latency), A's
      // row loaded once for four dots; each dot sums in exactly the order of the one-column loop
      for (; j + 4 <= j1; j += 4) {
        const T* b = pr.B + j * pr.bcs;
        const int64_t bs = pr.bcs;
        typename V::R r[4][2];
        for (int q = 0; q < 4; q++) r[q][0] = r[q][1] = V::zero();
        int64_t p = 0;
        for (; p + 2 * V::W <= k; p += 2 * V::W) {
          typename V::R a0 = V::load(a + p), a1 = V::load(a + p + V::W);
#pragma GCC unroll 4
          for (int q = 0; q < 4; q++) {
            r[q][0] = V::fma(a0, V::load(b + q * bs + p), r[q][0]);
            r[q][1] = V::fma(a1, V::load(b + q * bs + p + V::W), r[q][1]);
          }
        }
        int64_t p1 = p;
        if (p + V::W <= k) {
          typename V::R a0 = V::load(a + p);
          for (int q = 0; q < 4; q++) r[q][0] = V::fma(a0, V::load(b + q * bs + p), r[q][0]);
          p1 = p + V::W;
        }
        for (int q = 0; q < 4; q++) {
          T s = V::hsum(V::add(r[q][0], r[q][1]));
          for (int64_t pp = p1; pp < k; pp++) s = V::fmas(a[pp], b[q * bs + pp], s);
          pr.C[i * n + j + q] = s;
        }
      }
    }
    for (; j < j1; j++) {
      const T* b = pr.B + j * pr.bcs;
      T s;
      int64_t p = 0;
      if (pr.acs == 1) {
        typename V::R r0 = V::zero(), r1 = V::zero();
        for (; p + 2 * V::W <= k; p += 2 * V::W) {
          r0 = V::fma(V::load(a + p), V::load(b + p), r0);
          r1 = V::fma(V::load(a + p + V::W), V::load(b + p + V::W), r1);
        }
        for (; p + V::W <= k; p += V::W) r0 = V::fma(V::load(a + p), V::load(b + p), r0);
        s = V::hsum(V::add(r0, r1));
      } else {
        s = 0;
      }
      for (; p < k; p++) s = V::fmas(a[p * pr.acs], b[p], s);
      pr.C[i * n + j] = s;
    }
  }
}

struct SmallJob {
  const Problem* pr;
  int64_t cols;
};

static void SmallTask(void* vctx, int64_t t, int thread) {
  SmallJob* s = static_cast<SmallJob*>(vctx);
  int64_t j0 = t * s->cols;
  GemmSmallCols(*s->pr, j0, Min64(s->pr->n, j0 + s->cols));
}

static bool IsSmall(const Problem& pr) {
  const int64_t work = pr.m * pr.n * pr.k;
  if (pr.m < 4 || work <= kSmallWork) return true;
  if (work > 32 * 32 * 32) return false;
  // up to 32³ the small path still won: k ≤ 8 (4×2000×4 87 vs 83), B rows of exactly whole vectors
  // narrower than a panel (16×16×64: 68 vs 35), and long dot products (10×10×300 Bᵀ: 41 vs 28)
  return pr.k <= 8 || (pr.bcs == 1 && pr.n % V::W == 0 && pr.n < NR) ||
         (pr.bcs != 1 && pr.acs == 1 && pr.k >= 16 * V::W);
}

// Whether a product with m, n, k > 0 takes the packed path (else the small one, no packing).
static bool TakesPacked(const Problem& pr) {
  // (a narrow x·Wᵀ, n = 10 outputs, took the dot-product path here; GemmRowsB, which packs no W
  // panel, beat it: 32×10×256 122 vs 52 GFLOP/s, 256×10×256 125 vs 54, AVX-512)
  return !IsSmall(pr);
}

static bool GemmOne(const Problem& pr, bool parallel, int thread) {
  if (pr.m == 0 || pr.n == 0) return true;
  if (pr.k == 0) {
    for (int64_t i = 0; i < pr.m * pr.n; i++) pr.C[i] = 0;
    return true;
  }
  if (!TakesPacked(pr)) {
    SmallJob s{&pr, pr.n};
    // wide GEMV-like problems: column chunks over the threads (multiple of 4W: same vector path)
    if (parallel && pr.m * pr.n * pr.k >= (int64_t(1) << 20) && wgcpu::NumThreads() > 1) {
      int64_t q = 4 * V::W;
      s.cols = ((pr.n + wgcpu::NumThreads() - 1) / wgcpu::NumThreads() + q - 1) / q * q;
      if (s.cols < 4 * q) s.cols = 4 * q;
      wgcpu::ParallelFor((pr.n + s.cols - 1) / s.cols, SmallTask, &s);
    } else {
      GemmSmallCols(pr, 0, pr.n);
    }
    return true;
  }
  if (TakesRowsB(pr)) return GemmRowsB(pr, parallel, thread);
  return GemmPacked(pr, parallel, thread);
}

struct BatchJob {
  const wgcpu::GemmArgs<T>* g;
  bool oom;
};

static Problem ProblemOf(const wgcpu::GemmArgs<T>& g, int64_t b) {
  Problem pr;
  pr.A = g.a + b * g.aBatchStride;
  pr.B = g.b + b * g.bBatchStride;
  pr.C = g.out + b * g.m * g.n;
  pr.m = g.m;
  pr.n = g.n;
  pr.k = g.k;
  pr.ars = g.transA ? 1 : g.k;
  pr.acs = g.transA ? g.m : 1;
  pr.brs = g.transB ? 1 : g.n;
  pr.bcs = g.transB ? g.k : 1;
  return pr;
}

static void BatchTask(void* vctx, int64_t t, int thread) {
  BatchJob* j = static_cast<BatchJob*>(vctx);
  Problem pr = ProblemOf(*j->g, t);
  if (!GemmOne(pr, false, thread)) j->oom = true;
}

// Returns false when a scratch buffer could not be allocated.
static bool Gemm(const wgcpu::GemmArgs<T>& g) {
  // many small matrices: one matrix per task; else the threads share each matrix
  double work = double(g.m) * double(g.n) * double(g.k);
  if (g.batch > 1 && wgcpu::NumThreads() > 1 && work < 64.0 * 64 * 64 * 8) {
    BatchJob j{&g, false};
    wgcpu::ParallelFor(g.batch, BatchTask, &j);
    return !j.oom;
  }
  for (int64_t b = 0; b < g.batch; b++) {
    if (!GemmOne(ProblemOf(g, b), true, 0)) return false;
  }
  return true;
}

// ---- pre-packed B: one operand reused by many products (W_hh over an RNN's steps) ----

// Elements of the packed op(B) (k×n) for out = op(A)·op(B) of this shape, or 0 when the product
// does not take the packed path (then call Gemm; GemmPrepacked falls back to it too).
static int64_t PackedBSize(int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  wgcpu::GemmArgs<T> g{nullptr, nullptr, nullptr, 1, m, n, k, 0, 0, transA, transB};
  if (!TakesPacked(ProblemOf(g, 0))) return 0;
  return ((n / NC) * PanelsOf(NC) + PanelsOf(n % NC)) * NR * k;
}

// packed[0, PackedBSize) = op(B) in the panels GemmPacked reads (the same PackB, same content)
static void PackBAll(const T* B, int64_t n, int64_t k, bool transB, T* packed) {
  const int64_t brs = transB ? 1 : n, bcs = transB ? k : 1;
  for (int64_t jc = 0; jc < n; jc += NC) {
    int64_t nc = Min64(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC)
      PackB(B + pc * brs + jc * bcs, brs, bcs, nc, Min64(KC, k - pc), 0, PanelsOf(nc),
            packed + PackedBOffset(jc, pc, nc, k));
  }
}

// out = op(a)·op(b), batch 1, with op(b) from PackBAll (same transB, n, k): bit-identical to Gemm(g).
// g.b must still point at B: shapes that do not take the packed path run Gemm(g).
static bool GemmPrepacked(const wgcpu::GemmArgs<T>& g, const T* packed) {
  Problem pr = ProblemOf(g, 0);
  if (g.batch != 1 || !packed || pr.m == 0 || pr.n == 0 || pr.k == 0 || !TakesPacked(pr)) return Gemm(g);
  return GemmPacked(pr, true, 0, packed);
}

// ---- pre-packed A: the same for op(A) (a convolution's weights over the images of a batch) ----
// Layout: per pc block (in order), all ceil(m/MR) strips as PackA writes them.

static int64_t PackedASize(int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  wgcpu::GemmArgs<T> g{nullptr, nullptr, nullptr, 1, m, n, k, 0, 0, transA, transB};
  if (!TakesPacked(ProblemOf(g, 0))) return 0;
  return (m + MR - 1) / MR * MR * k;
}

static void PackAAll(const T* A, int64_t m, int64_t k, bool transA, T* packed) {
  const int64_t ars = transA ? 1 : k, acs = transA ? m : 1, strips = (m + MR - 1) / MR;
  for (int64_t pc = 0; pc < k; pc += KC) PackA(A + pc * acs, ars, acs, m, Min64(KC, k - pc), packed + pc * strips * MR);
}

// out = op(a)·op(b), batch 1, with op(a) from PackAAll (same transA, m, k): bit-identical to Gemm(g).
static bool GemmPrepackedA(const wgcpu::GemmArgs<T>& g, const T* packedA) {
  Problem pr = ProblemOf(g, 0);
  if (g.batch != 1 || !packedA || pr.m == 0 || pr.n == 0 || pr.k == 0 || !TakesPacked(pr)) return Gemm(g);
  return GemmPacked(pr, true, 0, nullptr, packedA);
}
