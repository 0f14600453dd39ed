// N-API entry points of the recurrent kernels (rnn.h), on the js backend's typed arrays (zero copy).
// The cells (the js backend's lstmCell / lstmCellBackward / gruCell / gruCellBackward kernels,
// same arguments without the dtype, which the arrays carry):
//   cpuLstmCell(gates, cPrev, h, c, act, batch, hidden)
//   cpuLstmCellBackward(act, cPrev, c, dh, dc | null, dGates, dcPrev, batch, hidden)
//   cpuGruCell(xg, hg, hPrev, h, saved, batch, hidden)
//   cpuGruCellBackward(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden)
// The whole sequence of one layer and direction (mode 0 RNN tanh, 1 RNN relu, 2 LSTM, 3 GRU; see rnn.h):
//   cpuRnnForward(mode, x, h0, c0 | null, wIh, wHh, bIh | null, bHh | null, hs, cs | null, saved | null, T, B, I, H)
//   cpuRnnBackward(mode, x, h0, c0 | null, wIh, wHh, hs, cs | null, saved | null, dhs | null, dhN | null, dcN | null,
//                  dx | null, dh0, dc0 | null, dWih, dWhh, dbIh | null, dbHh | null, T, B, I, H)
// All float arrays of one call are Float32Array, or all Float64Array (the first argument decides).
// Check: npx vitest run test/native/cpu-rnn.test.ts
#include <napi.h>

#include <string>

#include "napi_util.h"
#include "pool.h"
#include "registry.h"
#include "rnn.h"

namespace {

namespace nu = wgcpu::napi;

// The dtype of a call: its first float array.
napi_typedarray_type FloatType(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  nu::TypedArr a = nu::Arr(info, i, fn, name);
  if (a.type != napi_float32_array && a.type != napi_float64_array)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a Float32Array or Float64Array");
  return a.type;
}

template <class T>
T* Need(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double need) {
  napi_typedarray_type ty = sizeof(T) == 4 ? napi_float32_array : napi_float64_array;
  return static_cast<T*>(nu::Typed(info, i, fn, name, ty, need).data);
}

template <class T>
T* Opt(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double need) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return Need<T>(info, i, fn, name, need);
}

// rows of a cell kernel on the pool when the step is big enough to pay for it
template <class F>
void CellRows(int64_t rows, int64_t perRow, const F& f) {
  int64_t tasks = rows * perRow / 16384;
  if (tasks > rows) tasks = rows;
  if (tasks > 4 * wgcpu::MaxThreads()) tasks = 4 * wgcpu::MaxThreads();
  if (tasks <= 1) return f(0, rows);
  struct C {
    const F* f;
    int64_t rows, tasks;
  } c{&f, rows, tasks};
  wgcpu::ParallelFor(
      tasks,
      [](void* p, int64_t t, int) {
        auto* c = static_cast<C*>(p);
        (*c->f)(t * c->rows / c->tasks, (t + 1) * c->rows / c->tasks);
      },
      &c);
}

template <class T>
const wgcpu::rnn::GateFns<T>& Fns();
template <>
const wgcpu::rnn::GateFns<float>& Fns<float>() {
  return wgcpu::rnn::Current().f;
}
template <>
const wgcpu::rnn::GateFns<double>& Fns<double>() {
  return wgcpu::rnn::Current().d;
}

template <class T>
void LstmCell(const Napi::CallbackInfo& info, const char* fn) {
  int64_t B = nu::Size(info, 5, fn, "batch"), H = nu::Size(info, 6, fn, "hidden");
  double g4 = double(B) * 4 * H, s = double(B) * H;
  const T* gates = Need<T>(info, 0, fn, "gates", g4);
  const T* cp = Need<T>(info, 1, fn, "cPrev", s);
  T* h = Need<T>(info, 2, fn, "h", s);
  T* c = Need<T>(info, 3, fn, "c", s);
  T* act = Need<T>(info, 4, fn, "act", g4);
  const auto& g = Fns<T>();
  CellRows(B, 4 * H, [&](int64_t r0, int64_t r1) {
    g.lstm(gates + r0 * 4 * H, nullptr, nullptr, cp + r0 * H, h + r0 * H, c + r0 * H, act + r0 * 4 * H, r1 - r0, H);
  });
}

Napi::Value CpuLstmCell(const Napi::CallbackInfo& info) {
  const char* fn = "cpuLstmCell";
  nu::ArgCount(info, 7, fn, "gates, cPrev, h, c, act, batch, hidden");
  if (FloatType(info, 0, fn, "gates") == napi_float32_array) LstmCell<float>(info, fn);
  else LstmCell<double>(info, fn);
  return info.Env().Undefined();
}

template <class T>
void LstmCellBack(const Napi::CallbackInfo& info, const char* fn) {
  int64_t B = nu::Size(info, 7, fn, "batch"), H = nu::Size(info, 8, fn, "hidden");
  double g4 = double(B) * 4 * H, s = double(B) * H;
  const T* act = Need<T>(info, 0, fn, "act", g4);
  const T* cp = Need<T>(info, 1, fn, "cPrev", s);
  const T* c = Need<T>(info, 2, fn, "c", s);
  const T* dh = Need<T>(info, 3, fn, "dh", s);
  const T* dc = Opt<T>(info, 4, fn, "dc", s);
  T* dG = Need<T>(info, 5, fn, "dGates", g4);
  T* dcp = Need<T>(info, 6, fn, "dcPrev", s);
  const auto& g = Fns<T>();
  CellRows(B, 4 * H, [&](int64_t r0, int64_t r1) {
    g.lstmBack(act + r0 * 4 * H, cp + r0 * H, c + r0 * H, dh + r0 * H, dc ? dc + r0 * H : nullptr, dG + r0 * 4 * H,
               dcp + r0 * H, r1 - r0, H);
  });
}

Napi::Value CpuLstmCellBackward(const Napi::CallbackInfo& info) {
  const char* fn = "cpuLstmCellBackward";
  nu::ArgCount(info, 9, fn, "act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden");
  if (FloatType(info, 0, fn, "act") == napi_float32_array) LstmCellBack<float>(info, fn);
  else LstmCellBack<double>(info, fn);
  return info.Env().Undefined();
}

template <class T>
void GruCell(const Napi::CallbackInfo& info, const char* fn) {
  int64_t B = nu::Size(info, 5, fn, "batch"), H = nu::Size(info, 6, fn, "hidden");
  double g3 = double(B) * 3 * H, s = double(B) * H;
  const T* xg = Need<T>(info, 0, fn, "xg", g3);
  const T* hg = Need<T>(info, 1, fn, "hg", g3);
  const T* hp = Need<T>(info, 2, fn, "hPrev", s);
  T* h = Need<T>(info, 3, fn, "h", s);
  T* sv = Need<T>(info, 4, fn, "saved", 4 * s);
  const auto& g = Fns<T>();
  CellRows(B, 3 * H, [&](int64_t r0, int64_t r1) {
    g.gru(xg + r0 * 3 * H, hg + r0 * 3 * H, nullptr, hp + r0 * H, h + r0 * H, sv + r0 * 4 * H, r1 - r0, H);
  });
}

Napi::Value CpuGruCell(const Napi::CallbackInfo& info) {
  const char* fn = "cpuGruCell";
  nu::ArgCount(info, 7, fn, "xg, hg, hPrev, h, saved, batch, hidden");
  if (FloatType(info, 0, fn, "xg") == napi_float32_array) GruCell<float>(info, fn);
  else GruCell<double>(info, fn);
  return info.Env().Undefined();
}

template <class T>
void GruCellBack(const Napi::CallbackInfo& info, const char* fn) {
  int64_t B = nu::Size(info, 6, fn, "batch"), H = nu::Size(info, 7, fn, "hidden");
  double g3 = double(B) * 3 * H, s = double(B) * H;
  const T* sv = Need<T>(info, 0, fn, "saved", 4 * s);
  const T* hp = Need<T>(info, 1, fn, "hPrev", s);
  const T* dh = Need<T>(info, 2, fn, "dh", s);
  T* dxg = Need<T>(info, 3, fn, "dxg", g3);
  T* dhg = Need<T>(info, 4, fn, "dhg", g3);
  T* dhp = Need<T>(info, 5, fn, "dhPrev", s);
  const auto& g = Fns<T>();
  CellRows(B, 3 * H, [&](int64_t r0, int64_t r1) {
    g.gruBack(sv + r0 * 4 * H, hp + r0 * H, dh + r0 * H, dxg + r0 * 3 * H, dhg + r0 * 3 * H, dhp + r0 * H, r1 - r0, H);
  });
}

Napi::Value CpuGruCellBackward(const Napi::CallbackInfo& info) {
  const char* fn = "cpuGruCellBackward";
  nu::ArgCount(info, 8, fn, "saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden");
  if (FloatType(info, 0, fn, "saved") == napi_float32_array) GruCellBack<float>(info, fn);
  else GruCellBack<double>(info, fn);
  return info.Env().Undefined();
}

int Mode(const Napi::CallbackInfo& info, const char* fn) {
  int64_t m = nu::Size(info, 0, fn, "mode");
  if (m > 3)
    throw Napi::RangeError::New(info.Env(), std::string(fn) +
                                                ": mode must be 0 (RNN tanh), 1 (RNN relu), 2 (LSTM) or "
                                                "3 (GRU), got " +
                                                std::to_string(m));
  return int(m);
}

template <class T>
void RnnFwd(const Napi::CallbackInfo& info, const char* fn, int mode) {
  wgcpu::rnn::SeqFwd<T> a;
  a.mode = mode;
  a.T_ = nu::Size(info, 11, fn, "T");
  a.B = nu::Size(info, 12, fn, "B");
  a.I = nu::Size(info, 13, fn, "I");
  a.H = nu::Size(info, 14, fn, "H");
  const double T_ = double(a.T_), B = double(a.B), I = double(a.I), H = double(a.H), GH = wgcpu::rnn::Gates(mode) * H;
  const bool lstm = mode == wgcpu::rnn::kLstm, gated = lstm || mode == wgcpu::rnn::kGru;
  a.x = Need<T>(info, 1, fn, "x", T_ * B * I);
  a.h0 = Need<T>(info, 2, fn, "h0", B * H);
  a.c0 = lstm ? Need<T>(info, 3, fn, "c0", B * H) : nullptr;
  a.wIh = Need<T>(info, 4, fn, "wIh", GH * I);
  a.wHh = Need<T>(info, 5, fn, "wHh", GH * H);
  a.bIh = Opt<T>(info, 6, fn, "bIh", GH);
  a.bHh = Opt<T>(info, 7, fn, "bHh", GH);
  a.hs = Need<T>(info, 8, fn, "hs", T_ * B * H);
  a.cs = lstm ? Need<T>(info, 9, fn, "cs", T_ * B * H) : nullptr;
  a.saved = gated ? Opt<T>(info, 10, fn, "saved", T_ * B * 4 * H) : nullptr;
  if (!wgcpu::rnn::Forward(a))
    throw Napi::Error::New(info.Env(), std::string(fn) + ": out of memory for the workspace");
}

Napi::Value CpuRnnForward(const Napi::CallbackInfo& info) {
  const char* fn = "cpuRnnForward";
  nu::ArgCount(info, 15, fn, "mode, x, h0, c0, wIh, wHh, bIh, bHh, hs, cs, saved, T, B, I, H");
  int mode = Mode(info, fn);
  if (FloatType(info, 1, fn, "x") == napi_float32_array) RnnFwd<float>(info, fn, mode);
  else RnnFwd<double>(info, fn, mode);
  return info.Env().Undefined();
}

template <class T>
void RnnBwd(const Napi::CallbackInfo& info, const char* fn, int mode) {
  wgcpu::rnn::SeqBwd<T> a;
  a.mode = mode;
  a.T_ = nu::Size(info, 19, fn, "T");
  a.B = nu::Size(info, 20, fn, "B");
  a.I = nu::Size(info, 21, fn, "I");
  a.H = nu::Size(info, 22, fn, "H");
  const double T_ = double(a.T_), B = double(a.B), I = double(a.I), H = double(a.H), GH = wgcpu::rnn::Gates(mode) * H;
  const bool lstm = mode == wgcpu::rnn::kLstm, gated = lstm || mode == wgcpu::rnn::kGru;
  a.x = Need<T>(info, 1, fn, "x", T_ * B * I);
  a.h0 = Need<T>(info, 2, fn, "h0", B * H);
  a.c0 = lstm ? Need<T>(info, 3, fn, "c0", B * H) : nullptr;
  a.wIh = Need<T>(info, 4, fn, "wIh", GH * I);
  a.wHh = Need<T>(info, 5, fn, "wHh", GH * H);
  a.hs = Need<T>(info, 6, fn, "hs", T_ * B * H);
  a.cs = lstm ? Need<T>(info, 7, fn, "cs", T_ * B * H) : nullptr;
  a.saved = gated ? Need<T>(info, 8, fn, "saved", T_ * B * 4 * H) : nullptr;
  a.dhs = Opt<T>(info, 9, fn, "dhs", T_ * B * H);
  a.dhN = Opt<T>(info, 10, fn, "dhN", B * H);
  a.dcN = lstm ? Opt<T>(info, 11, fn, "dcN", B * H) : nullptr;
  a.dx = Opt<T>(info, 12, fn, "dx", T_ * B * I);
  a.dh0 = Need<T>(info, 13, fn, "dh0", B * H);
  a.dc0 = lstm ? Need<T>(info, 14, fn, "dc0", B * H) : nullptr;
  a.dWih = Need<T>(info, 15, fn, "dWih", GH * I);
  a.dWhh = Need<T>(info, 16, fn, "dWhh", GH * H);
  a.dbIh = Opt<T>(info, 17, fn, "dbIh", GH);
  a.dbHh = Opt<T>(info, 18, fn, "dbHh", GH);
  if (!wgcpu::rnn::Backward(a))
    throw Napi::Error::New(info.Env(), std::string(fn) + ": out of memory for the workspace");
}

Napi::Value CpuRnnBackward(const Napi::CallbackInfo& info) {
  const char* fn = "cpuRnnBackward";
  nu::ArgCount(
      info, 23, fn,
      "mode, x, h0, c0, wIh, wHh, hs, cs, saved, dhs, dhN, dcN, dx, dh0, dc0, dWih, dWhh, dbIh, dbHh, T, B, I, "
      "H");
  int mode = Mode(info, fn);
  if (FloatType(info, 1, fn, "x") == napi_float32_array) RnnBwd<float>(info, fn, mode);
  else RnnBwd<double>(info, fn, mode);
  return info.Env().Undefined();
}

}  // namespace

WGCPU_ENTRY("cpuLstmCell", CpuLstmCell, "lstmCell");
WGCPU_ENTRY("cpuLstmCellBackward", CpuLstmCellBackward, "lstmCellBackward");
WGCPU_ENTRY("cpuGruCell", CpuGruCell, "gruCell");
WGCPU_ENTRY("cpuGruCellBackward", CpuGruCellBackward, "gruCellBackward");
WGCPU_ENTRY("cpuRnnForward", CpuRnnForward, nullptr);
WGCPU_ENTRY("cpuRnnBackward", CpuRnnBackward, nullptr);
