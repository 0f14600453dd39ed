// Parity of the CUDA int8 GEMM (native/kernels/qgemm.cu, dp4a path) with a C++ copy of the js
// reference (lib/quantization/qgemm.ts qgemmJs): exact int32 accumulators and identical float32
// outputs on random shapes, zero points, bias and ReLU, including the u8 255 × s8 −128 extremes.
// Built as PTX for compute_75 and run on GPGPU-Sim by test/quantization/qgemm-sim.test.ts (the
// simulator has no tensor cores, so the mma path is not run here). Prints one line per case and
// "qgemm-sim: all N cases passed" or exits 1.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../../../native/kernels/qgemm.cu"

static unsigned g_state = 12345;
static unsigned Rand() {
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return g_state;
}

int main(int argc, char** argv) {
  if (argc > 1) g_state = unsigned(atoi(argv[1])) | 1u;
  const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 13, 33}, {65, 70, 100}, {64, 10, 256}, {5, 67, 300}};
  int cases = 0;
  for (const auto& sh : shapes) {
    for (int variant = 0; variant < 3; variant++) {
      const int m = sh[0], n = sh[1], k = sh[2];
      const int ld = ((k + 15) / 16) * 16;
      std::vector<uint8_t> a(size_t(m) * ld, 0);
      std::vector<int8_t> b(size_t(n) * ld, 0);
      for (int i = 0; i < m; i++)
        for (int p = 0; p < k; p++) a[size_t(i) * ld + p] = variant == 2 ? 255 : uint8_t(Rand() % 256);
      for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
          b[size_t(j) * ld + p] = variant == 2 ? int8_t(-128) : int8_t(int(Rand() % 256) - 128);
      std::vector<float> bs(n), bias(n);
      std::vector<int32_t> zb(n);
      for (int j = 0; j < n; j++) {
        bs[j] = 0.001f + float(Rand() % 1000) * 1e-5f;
        bias[j] = float(int(Rand() % 2001) - 1000) * 1e-3f;
        zb[j] = variant == 1 ? int(Rand() % 9) - 4 : 0;
      }
      const float sa = 0.003f + float(Rand() % 1000) * 1e-5f;
      const int za = variant == 2 ? 3 : int(Rand() % 256);
      const bool relu = variant == 1;
      // the reference (qgemmJs): exact sums, then the double epilogue
      std::vector<int32_t> accRef(size_t(m) * n);
      std::vector<float> outRef(size_t(m) * n);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
          long long s = 0;
          for (int p = 0; p < k; p++) s += (long long)(a[size_t(i) * ld + p] - za) * (b[size_t(j) * ld + p] - zb[j]);
          const int v = int(unsigned(s));
          accRef[size_t(i) * n + j] = v;
          const float scale = sa * bs[j];
          double y = double(scale) * double(v) + double(bias[j]);
          if (relu && y < 0) y = 0;
          outRef[size_t(i) * n + j] = float(y);
        }
      uint8_t* da;
      int8_t* db;
      float *dbs, *dbias, *dout;
      int32_t *dzb, *dacc, *dsums;
      cudaMalloc(&da, a.size());
      cudaMalloc(&db, b.size());
      cudaMalloc(&dbs, n * 4);
      cudaMalloc(&dbias, n * 4);
      cudaMalloc(&dzb, n * 4);
      cudaMalloc(&dout, size_t(m) * n * 4);
      cudaMalloc(&dacc, size_t(m) * n * 4);
      cudaMalloc(&dsums, size_t(m + n) * 4);
      cudaMemcpy(da, a.data(), a.size(), cudaMemcpyHostToDevice);
      cudaMemcpy(db, b.data(), b.size(), cudaMemcpyHostToDevice);
      cudaMemcpy(dbs, bs.data(), n * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(dbias, bias.data(), n * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(dzb, zb.data(), n * 4, cudaMemcpyHostToDevice);
      int rc = wg::k::LaunchQgemmU8S8S32(da, ld, db, ld, dbs, dzb, dbias, dout, dacc, m, n, k, sa, za, relu, dsums,
                                         false, 0);
      cudaError_t err = cudaDeviceSynchronize();
      std::vector<int32_t> acc(size_t(m) * n);
      std::vector<float> out(size_t(m) * n);
      cudaMemcpy(acc.data(), dacc, acc.size() * 4, cudaMemcpyDeviceToHost);
      cudaMemcpy(out.data(), dout, out.size() * 4, cudaMemcpyDeviceToHost);
      int bad = -1;
      for (size_t t = 0; t < acc.size() && bad < 0; t++)
        if (acc[t] != accRef[t] || memcmp(&out[t], &outRef[t], 4) != 0) bad = int(t);
      printf("case %d: m=%d n=%d k=%d variant=%d rc=%d err=%d %s", cases, m, n, k, variant, rc, int(err),
             bad < 0 ? "ok\n" : "MISMATCH");
      if (bad >= 0) {
        printf(" at %d: acc %d vs %d, out %.9g vs %.9g (a0 %d b0 %d za %d zb0 %d)\n", bad, acc[bad], accRef[bad],
               out[bad], outRef[bad], a[0], b[0], za, zb[0]);
        return 1;
      }
      if (rc != 0 || err != cudaSuccess) return 1;
      cases++;
      cudaFree(da);
      cudaFree(db);
      cudaFree(dbs);
      cudaFree(dbias);
      cudaFree(dzb);
      cudaFree(dout);
      cudaFree(dacc);
      cudaFree(dsums);
    }
  }
  printf("qgemm-sim: all %d cases passed\n", cases);
  return 0;
}
