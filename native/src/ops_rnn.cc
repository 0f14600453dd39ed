// Entry points: lstmCell(+Backward), gruCell(+Backward) (native/kernels/rnn.cu).
#include "ops_common.h"

namespace wg {
namespace ops {
namespace {

// lstmCell(gates, cPrev, h, c, act, batch, hidden, dtype)
Napi::Value LstmCell(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "lstmCell")) return env.Undefined();
  const void* gates = Ptr(info[0], "lstmCell: gates");
  const void* cPrev = Ptr(info[1], "lstmCell: cPrev");
  void* h = Ptr(info[2], "lstmCell: h");
  void* c = Ptr(info[3], "lstmCell: c");
  void* act = Ptr(info[4], "lstmCell: act");
  const int64_t batch = I64(info, 5), hidden = I64(info, 6);
  const int dtype = Int(info, 7);
  if (Pending(env) || !NonNeg(env, "lstmCell", {batch, hidden})) return env.Undefined();
  // gates, act (batch, 4H); cPrev, h, c (batch, H)
  const uint64_t bh = Elems({batch, hidden}), b4h = MulSat(bh, 4);
  if (!Holds(env, info[0], "lstmCell: gates", b4h, dtype) || !Holds(env, info[1], "lstmCell: cPrev", bh, dtype) ||
      !Holds(env, info[2], "lstmCell: h", bh, dtype) || !Holds(env, info[3], "lstmCell: c", bh, dtype) ||
      !Holds(env, info[4], "lstmCell: act", b4h, dtype))
    return env.Undefined();
  Done(env, k::LaunchLstmCell(gates, cPrev, h, c, act, batch, hidden, dtype, Stream()), dtype, "lstmCell");
  return env.Undefined();
}

// lstmCellBackward(act, cPrev, c, dh, dc|null, dGates, dcPrev, batch, hidden, dtype)
Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 10, "lstmCellBackward")) return env.Undefined();
  const void* act = Ptr(info[0], "lstmCellBackward: act");
  const void* cPrev = Ptr(info[1], "lstmCellBackward: cPrev");
  const void* c = Ptr(info[2], "lstmCellBackward: c");
  const void* dh = Ptr(info[3], "lstmCellBackward: dh");
  const void* dc = Ptr(info[4], "lstmCellBackward: dc");
  void* dGates = Ptr(info[5], "lstmCellBackward: dGates");
  void* dcPrev = Ptr(info[6], "lstmCellBackward: dcPrev");
  const int64_t batch = I64(info, 7), hidden = I64(info, 8);
  const int dtype = Int(info, 9);
  if (Pending(env) || !NonNeg(env, "lstmCellBackward", {batch, hidden})) return env.Undefined();
  // act, dGates (batch, 4H); cPrev, c, dh, dc (nullable), dcPrev (batch, H)
  const uint64_t bh = Elems({batch, hidden}), b4h = MulSat(bh, 4);
  if (!Holds(env, info[0], "lstmCellBackward: act", b4h, dtype) ||
      !Holds(env, info[1], "lstmCellBackward: cPrev", bh, dtype) ||
      !Holds(env, info[2], "lstmCellBackward: c", bh, dtype) ||
      !Holds(env, info[3], "lstmCellBackward: dh", bh, dtype) ||
      !Holds(env, info[4], "lstmCellBackward: dc", bh, dtype, true) ||
      !Holds(env, info[5], "lstmCellBackward: dGates", b4h, dtype) ||
      !Holds(env, info[6], "lstmCellBackward: dcPrev", bh, dtype))
    return env.Undefined();
  Done(env, k::LaunchLstmCellBackward(act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden, dtype, Stream()), dtype,
       "lstmCellBackward");
  return env.Undefined();
}

// gruCell(xg, hg, hPrev, h, saved, batch, hidden, dtype)
Napi::Value GruCell(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 8, "gruCell")) return env.Undefined();
  const void* xg = Ptr(info[0], "gruCell: xg");
  const void* hg = Ptr(info[1], "gruCell: hg");
  const void* hPrev = Ptr(info[2], "gruCell: hPrev");
  void* h = Ptr(info[3], "gruCell: h");
  void* saved = Ptr(info[4], "gruCell: saved");
  const int64_t batch = I64(info, 5), hidden = I64(info, 6);
  const int dtype = Int(info, 7);
  if (Pending(env) || !NonNeg(env, "gruCell", {batch, hidden})) return env.Undefined();
  // xg, hg (batch, 3H); hPrev, h (batch, H); saved (batch, 4H)
  const uint64_t bh = Elems({batch, hidden}), b3h = MulSat(bh, 3), b4h = MulSat(bh, 4);
  if (!Holds(env, info[0], "gruCell: xg", b3h, dtype) || !Holds(env, info[1], "gruCell: hg", b3h, dtype) ||
      !Holds(env, info[2], "gruCell: hPrev", bh, dtype) || !Holds(env, info[3], "gruCell: h", bh, dtype) ||
      !Holds(env, info[4], "gruCell: saved", b4h, dtype))
    return env.Undefined();
  Done(env, k::LaunchGruCell(xg, hg, hPrev, h, saved, batch, hidden, dtype, Stream()), dtype, "gruCell");
  return env.Undefined();
}

// gruCellBackward(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden, dtype)
Napi::Value GruCellBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgCount(info, 9, "gruCellBackward")) return env.Undefined();
  const void* saved = Ptr(info[0], "gruCellBackward: saved");
  const void* hPrev = Ptr(info[1], "gruCellBackward: hPrev");
  const void* dh = Ptr(info[2], "gruCellBackward: dh");
  void* dxg = Ptr(info[3], "gruCellBackward: dxg");
  void* dhg = Ptr(info[4], "gruCellBackward: dhg");
  void* dhPrev = Ptr(info[5], "gruCellBackward: dhPrev");
  const int64_t batch = I64(info, 6), hidden = I64(info, 7);
  const int dtype = Int(info, 8);
  if (Pending(env) || !NonNeg(env, "gruCellBackward", {batch, hidden})) return env.Undefined();
  // saved (batch, 4H); hPrev, dh, dhPrev (batch, H); dxg, dhg (batch, 3H)
  const uint64_t bh = Elems({batch, hidden}), b3h = MulSat(bh, 3), b4h = MulSat(bh, 4);
  if (!Holds(env, info[0], "gruCellBackward: saved", b4h, dtype) ||
      !Holds(env, info[1], "gruCellBackward: hPrev", bh, dtype) ||
      !Holds(env, info[2], "gruCellBackward: dh", bh, dtype) ||
      !Holds(env, info[3], "gruCellBackward: dxg", b3h, dtype) ||
      !Holds(env, info[4], "gruCellBackward: dhg", b3h, dtype) ||
      !Holds(env, info[5], "gruCellBackward: dhPrev", bh, dtype))
    return env.Undefined();
  Done(env, k::LaunchGruCellBackward(saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden, dtype, Stream()), dtype,
       "gruCellBackward");
  return env.Undefined();
}

}  // namespace

void RegisterRnnOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lstmCell", Napi::Function::New(env, LstmCell, "lstmCell"));
  exports.Set("lstmCellBackward", Napi::Function::New(env, LstmCellBackward, "lstmCellBackward"));
  exports.Set("gruCell", Napi::Function::New(env, GruCell, "gruCell"));
  exports.Set("gruCellBackward", Napi::Function::New(env, GruCellBackward, "gruCellBackward"));
}

}  // namespace ops
}  // namespace wg
