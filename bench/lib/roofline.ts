// The device's roofline, measured once at the start of a run:
//   memory bandwidth = a large copy (device-to-device on cuda: the clone kernel; on CPU a
//                      TypedArray.set of buffers much bigger than the last-level cache), bytes = read + write;
//   peak FLOP/s      = our best matmul on that device (per dtype).
// Datasheet numbers are listed as labelled leads only, never used as the measured roofline.
// The floor of an op is max(flops / peak, bytes / bandwidth); "% of roofline" = floor / time.

export interface DatasheetLead {
  label: string;
  flops?: number;
  bytesPerSecond?: number;
}

export interface Roofline {
  device: string;
  /** measured peak FLOP/s per dtype ('float32', 'bfloat16'); from our best matmul */
  peakFlops: Record<string, number>;
  peakFlopsSource: Record<string, string>;
  /** measured copy bandwidth, bytes/s */
  bandwidth: number;
  bandwidthSource: string;
  leads: DatasheetLead[];
}

/** Datasheet leads by device-name substring (labelled as such in the report). */
export function datasheetLeads(deviceName: string): DatasheetLead[] {
  const n = deviceName.toUpperCase();
  if (n.includes('H200')) {
    return [
      { label: 'H200 SXM bf16 dense (datasheet)', flops: 989e12 },
      { label: 'H200 SXM tf32 dense (datasheet)', flops: 495e12 },
      { label: 'H200 SXM fp32 (datasheet)', flops: 67e12 },
      { label: 'H200 HBM3e (datasheet)', bytesPerSecond: 4.8e12 },
    ];
  }
  if (n.includes('H100')) {
    return [
      { label: 'H100 SXM bf16 dense (datasheet)', flops: 989e12 },
      { label: 'H100 SXM tf32 dense (datasheet)', flops: 495e12 },
      { label: 'H100 SXM fp32 (datasheet)', flops: 67e12 },
      { label: 'H100 SXM HBM3 (datasheet)', bytesPerSecond: 3.35e12 },
    ];
  }
  return [];
}

/** The datasheet lead for a dtype's compute (fp32 SIMT for float32, bf16 dense for bfloat16). */
export function leadFlops(r: Roofline, dtype: string): number | null {
  const key = dtype === 'bfloat16' ? 'bf16' : dtype === 'float16' ? 'fp16' : 'fp32';
  return r.leads.find((l) => l.flops !== undefined && l.label.includes(` ${key} `))?.flops ?? null;
}

export function leadBandwidth(r: Roofline): number | null {
  return r.leads.find((l) => l.bytesPerSecond !== undefined)?.bytesPerSecond ?? null;
}

/** Lower bound on the time of an op, seconds, and which resource sets it. */
export function floorSeconds(r: Roofline, flops: number, bytes: number, dtype: string): { seconds: number; bound: 'compute' | 'memory' } {
  const peak = r.peakFlops[dtype] ?? r.peakFlops.float32 ?? Infinity;
  const c = flops / peak;
  const m = bytes / r.bandwidth;
  return c >= m ? { seconds: c, bound: 'compute' } : { seconds: m, bound: 'memory' };
}

/** 100 · floor / measured time (100 = at the roofline). */
export function pctOfRoofline(r: Roofline, seconds: number, flops: number, bytes: number, dtype: string): number {
  return (100 * floorSeconds(r, flops, bytes, dtype).seconds) / seconds;
}

/** The same against datasheet leads (GPU only); null when no lead is known. */
export function pctOfDatasheet(r: Roofline, seconds: number, flops: number, bytes: number, dtype: string): number | null {
  const pf = leadFlops(r, dtype);
  const bw = leadBandwidth(r);
  if (pf === null || bw === null) return null;
  return (100 * Math.max(flops / pf, bytes / bw)) / seconds;
}

/** CPU copy bandwidth: TypedArray.set over `mib`-MiB buffers (well beyond the last-level cache). */
export function cpuCopyBandwidth(mib = 128, reps = 7): number {
  const n = (mib * 1024 * 1024) / 4;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) a[i] = i; // touch every page
  const b = new Float32Array(n);
  b.set(a);
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    b.set(a);
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  ts.sort((x, y) => x - y);
  return (2 * n * 4) / ts[ts.length >> 1]!;
}
