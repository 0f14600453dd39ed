// The recurrent entry points' plain functions (declared by the generated gen_rnn.h from
// native/manifest/cpu/rnn.mjs; gen_rnn.cc unpacks and checks the N-API arguments): the cells run
// the selected ISA's gate kernels (rnn.h) over row blocks on the pool when a step is big enough;
// the sequence entries call rnn::Forward / rnn::Backward (rnn.cc).
// Check: npx vitest run test/native/cpu-rnn.test.ts
#include "gen_rnn.h"
#include "pool.h"
#include "rnn.h"

namespace wgcpu {
namespace {

// f(r0, r1) over row blocks on the pool when the step pays for it (results do not depend on the split)
template <class F>
void CellRows(int64_t rows, int64_t perRow, const F& f) {
  int64_t tasks = rows * perRow / 16384;
  if (tasks > rows) tasks = rows;
  if (tasks > 4 * MaxThreads()) tasks = 4 * MaxThreads();
  if (tasks <= 1) return f(0, rows);
  struct C {
    const F* f;
    int64_t rows, tasks;
  } c{&f, rows, tasks};
  ParallelFor(
      tasks,
      [](void* p, int64_t t, int) {
        auto* c = static_cast<C*>(p);
        (*c->f)(t * c->rows / c->tasks, (t + 1) * c->rows / c->tasks);
      },
      &c);
}

const rnn::GateFns<float>& Fns(const float*) { return rnn::Current().f; }
const rnn::GateFns<double>& Fns(const double*) { return rnn::Current().d; }

template <class T>
const char* LstmCell(const T* gates, const T* cp, T* h, T* c, T* act, int64_t B, int64_t H) {
  const auto& g = Fns(gates);
  CellRows(B, 4 * H, [&](int64_t r0, int64_t r1) {
    g.lstm(gates + r0 * 4 * H, nullptr, nullptr, cp + r0 * H, h + r0 * H, c + r0 * H, act + r0 * 4 * H, r1 - r0, H);
  });
  return nullptr;
}

template <class T>
const char* LstmCellBack(const T* act, const T* cp, const T* c, const T* dh, const T* dc, T* dG, T* dcp, int64_t B,
                         int64_t H) {
  const auto& g = Fns(act);
  CellRows(B, 4 * H, [&](int64_t r0, int64_t r1) {
    g.lstmBack(act + r0 * 4 * H, cp + r0 * H, c + r0 * H, dh + r0 * H, dc ? dc + r0 * H : nullptr, dG + r0 * 4 * H,
               dcp + r0 * H, r1 - r0, H);
  });
  return nullptr;
}

template <class T>
const char* GruCell(const T* xg, const T* hg, const T* hp, T* h, T* sv, int64_t B, int64_t H) {
  const auto& g = Fns(xg);
  CellRows(B, 3 * H, [&](int64_t r0, int64_t r1) {
    g.gru(xg + r0 * 3 * H, hg + r0 * 3 * H, nullptr, hp + r0 * H, h + r0 * H, sv + r0 * 4 * H, r1 - r0, H);
  });
  return nullptr;
}

template <class T>
const char* GruCellBack(const T* sv, const T* hp, const T* dh, T* dxg, T* dhg, T* dhp, int64_t B, int64_t H) {
  const auto& g = Fns(sv);
  CellRows(B, 3 * H, [&](int64_t r0, int64_t r1) {
    g.gruBack(sv + r0 * 4 * H, hp + r0 * H, dh + r0 * H, dxg + r0 * 3 * H, dhg + r0 * 3 * H, dhp + r0 * H, r1 - r0, H);
  });
  return nullptr;
}

template <class T>
const char* SeqForward(int64_t mode, const T* x, const T* h0, const T* c0, const T* wIh, const T* wHh, const T* bIh,
                       const T* bHh, T* hs, T* cs, T* saved, int64_t steps, int64_t batch, int64_t input,
                       int64_t hidden) {
  rnn::SeqFwd<T> a{int(mode), steps, batch, input, hidden,
                   x,         h0,    c0,    wIh,   wHh,
                   bIh,       bHh,   hs,    cs,    mode >= rnn::kLstm ? saved : nullptr};
  return rnn::Forward(a) ? nullptr : "out of memory for the workspace";
}

template <class T>
const char* SeqBackward(int64_t mode, const T* x, const T* h0, const T* c0, const T* wIh, const T* wHh, const T* hs,
                        const T* cs, const T* saved, const T* dhs, const T* dhN, const T* dcN, T* dx, T* dh0, T* dc0,
                        T* dWih, T* dWhh, T* dbIh, T* dbHh, int64_t steps, int64_t batch, int64_t input,
                        int64_t hidden) {
  const bool lstm = mode == rnn::kLstm;
  rnn::SeqBwd<T> a{int(mode),
                   steps,
                   batch,
                   input,
                   hidden,
                   x,
                   h0,
                   lstm ? c0 : nullptr,
                   wIh,
                   wHh,
                   hs,
                   lstm ? cs : nullptr,
                   mode >= rnn::kLstm ? saved : nullptr,
                   dhs,
                   dhN,
                   lstm ? dcN : nullptr,
                   dx,
                   dh0,
                   lstm ? dc0 : nullptr,
                   dWih,
                   dWhh,
                   dbIh,
                   dbHh};
  return rnn::Backward(a) ? nullptr : "out of memory for the workspace";
}

}  // namespace

const char* CpuLstmCell(const float* gates, const float* cPrev, float* h, float* c, float* act, int64_t batch,
                        int64_t hidden) {
  return LstmCell(gates, cPrev, h, c, act, batch, hidden);
}
const char* CpuLstmCell(const double* gates, const double* cPrev, double* h, double* c, double* act, int64_t batch,
                        int64_t hidden) {
  return LstmCell(gates, cPrev, h, c, act, batch, hidden);
}
const char* CpuLstmCellBackward(const float* act, const float* cPrev, const float* c, const float* dh, const float* dc,
                                float* dGates, float* dcPrev, int64_t batch, int64_t hidden) {
  return LstmCellBack(act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden);
}
const char* CpuLstmCellBackward(const double* act, const double* cPrev, const double* c, const double* dh,
                                const double* dc, double* dGates, double* dcPrev, int64_t batch, int64_t hidden) {
  return LstmCellBack(act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden);
}
const char* CpuGruCell(const float* xg, const float* hg, const float* hPrev, float* h, float* saved, int64_t batch,
                       int64_t hidden) {
  return GruCell(xg, hg, hPrev, h, saved, batch, hidden);
}
const char* CpuGruCell(const double* xg, const double* hg, const double* hPrev, double* h, double* saved, int64_t batch,
                       int64_t hidden) {
  return GruCell(xg, hg, hPrev, h, saved, batch, hidden);
}
const char* CpuGruCellBackward(const float* saved, const float* hPrev, const float* dh, float* dxg, float* dhg,
                               float* dhPrev, int64_t batch, int64_t hidden) {
  return GruCellBack(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden);
}
const char* CpuGruCellBackward(const double* saved, const double* hPrev, const double* dh, double* dxg, double* dhg,
                               double* dhPrev, int64_t batch, int64_t hidden) {
  return GruCellBack(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden);
}
const char* CpuRnnForward(int64_t mode, const float* x, const float* h0, const float* c0, const float* wIh,
                          const float* wHh, const float* bIh, const float* bHh, float* hs, float* cs, float* saved,
                          int64_t steps, int64_t batch, int64_t input, int64_t hidden) {
  return SeqForward(mode, x, h0, c0, wIh, wHh, bIh, bHh, hs, cs, saved, steps, batch, input, hidden);
}
const char* CpuRnnForward(int64_t mode, const double* x, const double* h0, const double* c0, const double* wIh,
                          const double* wHh, const double* bIh, const double* bHh, double* hs, double* cs,
                          double* saved, int64_t steps, int64_t batch, int64_t input, int64_t hidden) {
  return SeqForward(mode, x, h0, c0, wIh, wHh, bIh, bHh, hs, cs, saved, steps, batch, input, hidden);
}
const char* CpuRnnBackward(int64_t mode, const float* x, const float* h0, const float* c0, const float* wIh,
                           const float* wHh, const float* hs, const float* cs, const float* saved, const float* dhs,
                           const float* dhN, const float* dcN, float* dx, float* dh0, float* dc0, float* dWih,
                           float* dWhh, float* dbIh, float* dbHh, int64_t steps, int64_t batch, int64_t input,
                           int64_t hidden) {
  return SeqBackward(mode, x, h0, c0, wIh, wHh, hs, cs, saved, dhs, dhN, dcN, dx, dh0, dc0, dWih, dWhh, dbIh, dbHh,
                     steps, batch, input, hidden);
}
const char* CpuRnnBackward(int64_t mode, const double* x, const double* h0, const double* c0, const double* wIh,
                           const double* wHh, const double* hs, const double* cs, const double* saved,
                           const double* dhs, const double* dhN, const double* dcN, double* dx, double* dh0,
                           double* dc0, double* dWih, double* dWhh, double* dbIh, double* dbHh, int64_t steps,
                           int64_t batch, int64_t input, int64_t hidden) {
  return SeqBackward(mode, x, h0, c0, wIh, wHh, hs, cs, saved, dhs, dhN, dcN, dx, dh0, dc0, dWih, dWhh, dbIh, dbHh,
                     steps, batch, input, hidden);
}

}  // namespace wgcpu
