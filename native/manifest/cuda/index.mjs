// CUDA entry points: indexSelect(+Backward), gather(+Backward) (native/kernels/index.cu). Generated
// into native/src/ops_gen_index.cc. Bad indices set the runtime's device error flag (errorFlag:
// SetErrorOp names the kernel first). Format: native/manifest/README.md.
//
// kernel(src, idx, dst, outer, dimSize, inner, count, dtype). The (outer, dimSize, inner) side is src
// for the forward kernels and dst for the backward ones; the other side is (outer, count, inner).
// idx (int32) is (count) for indexSelect and (outer, count, inner) for gather. The backward
// zero-fills all of dx even when nothing is scattered; the forward touches idx and x only when
// there is some output.
const index = (name, [src, dst], count, backward, gather) => ({
  name,
  args: [
    { name: src, kind: 'buf', holds: backward ? 'picked' : '(picked == 0 ? 0 : full)' },
    { name: 'idx', kind: 'buf', elem: 'int', holds: `picked == 0 ? 0 : ${gather ? 'picked' : `Elems({${count}})`}`, holdsDtype: 'k::kI32' },
    { name: dst, kind: 'buf', out: true, holds: backward ? 'full' : 'picked' },
    { name: 'outer', kind: 'i64', size: true },
    { name: 'dimSize', kind: 'i64', size: true },
    { name: 'inner', kind: 'i64', size: true },
    { name: count, kind: 'i64', size: true },
    { name: 'dtype', kind: 'dtype' },
  ],
  prelude: [`const uint64_t full = Elems({outer, dimSize, inner}), picked = Elems({outer, ${count}, inner});`],
  errorFlag: true,
});

export const entries = [
  index('indexSelect', ['x', 'out'], 'nIdx', false, false),
  index('indexSelectBackward', ['dy', 'dx'], 'nIdx', true, false),
  index('gather', ['x', 'out'], 'k', false, true),
  index('gatherBackward', ['dy', 'dx'], 'k', true, true),
];
