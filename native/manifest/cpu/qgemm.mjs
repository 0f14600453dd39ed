// CPU entry points of the 'qgemm' family: the int8 GEMM of the quantized layers (native/cpu/qgemm.cc
// implements it: VNNI / AVX2 / scalar paths, see qgemm.h). The contract is lib/quantization/qgemm.ts's
// header. Format: native/manifest/README.md. cpuQgemmInfo / cpuQgemmSelectIsa return values, so they
// stay hand-written in native/cpu/napi_qgemm.cc.
export const entries = [
  {
    name: 'cpuQgemmU8S8S32',
    kernel: 'qgemm_u8s8s32',
    fn: 'CpuQgemmU8S8S32',
    doc: [
      'acc[i, j] = Σ_p (a[i, p] − aZeroPoint) · (b[j, p] − bZeroPoint[j]) in int32; a (m, k) quint8, b (n, k) qint8;',
      'out[i, j] = float32(aScale · bScale[j]) · acc + bias[j], then max(·, 0) when relu. acc (optional) receives the accumulators.',
    ].join('\n'),
    args: [
      { name: 'a', kind: 'array', type: 'u8', need: 'Prod(m, k)' },
      { name: 'b', kind: 'array', type: 'i8', need: 'Prod(n, k)' },
      { name: 'bScale', kind: 'array', type: 'f32', need: 'Prod(n)' },
      { name: 'bZeroPoint', kind: 'array', type: 'i32', need: 'Prod(n)' },
      { name: 'bias', kind: 'array', type: 'f32', nullable: true, need: 'Prod(n)' },
      { name: 'out', kind: 'array', type: 'f32', out: true, need: 'Prod(m, n)' },
      { name: 'acc', kind: 'array', type: 'i32', out: true, nullable: true, need: 'Prod(m, n)' },
      { name: 'm', kind: 'size' },
      { name: 'n', kind: 'size' },
      { name: 'k', kind: 'size' },
      { name: 'aScale', kind: 'number' },
      { name: 'aZeroPoint', kind: 'number' },
      { name: 'relu', kind: 'bool' },
    ],
    checks: [
      { if: 'double(k) * 255 * 255 >= 2147483648.0', msg: 'k is too large for exact int32 accumulation (k < 33025)', error: 'RangeError' },
      { if: '!(aScale > 0) || !(aScale < 1e300)', msg: 'aScale must be a positive finite number', error: 'RangeError' },
      {
        if: '!(aZeroPoint >= 0 && aZeroPoint <= 255) || aZeroPoint != double(int64_t(aZeroPoint))',
        msg: 'aZeroPoint must be an integer in [0, 255]',
        error: 'RangeError',
      },
    ],
    noOverlap: [
      ['out', 'a'],
      ['out', 'b'],
      ['acc', 'out'],
      ['acc', 'a'],
      ['acc', 'b'],
    ],
  },
];
