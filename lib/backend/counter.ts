// Every kernel call reports its FLOPs and the fewest bytes it must move (computed from shapes in the
// op layer). The energy meter reads snapshots of these totals and divides by measured joules.

export interface CostTotals {
  flops: number;
  bytes: number;
  calls: number;
}

export interface CostSnapshot extends CostTotals {
  /** per kernel name */
  byKernel: Record<string, CostTotals>;
}

const totals: CostTotals = { flops: 0, bytes: 0, calls: 0 };
const byKernel = new Map<string, CostTotals>();

/** Adds one kernel call's cost. Called by the op layer right after it launches the kernel. */
export function recordCost(kernel: string, flops: number, bytes: number): void {
  totals.flops += flops;
  totals.bytes += bytes;
  totals.calls += 1;
  let k = byKernel.get(kernel);
  if (k === undefined) {
    k = { flops: 0, bytes: 0, calls: 0 };
    byKernel.set(kernel, k);
  }
  k.flops += flops;
  k.bytes += bytes;
  k.calls += 1;
}

/** A copy of the running totals; subtract two snapshots for a window. */
export function costSnapshot(): CostSnapshot {
  const per: Record<string, CostTotals> = {};
  for (const [name, t] of byKernel) per[name] = { ...t };
  return { ...totals, byKernel: per };
}

/** The cost between two snapshots. */
export function costDelta(from: CostSnapshot, to: CostSnapshot): CostSnapshot {
  const per: Record<string, CostTotals> = {};
  for (const [name, t] of Object.entries(to.byKernel)) {
    const f = from.byKernel[name] ?? { flops: 0, bytes: 0, calls: 0 };
    const d = { flops: t.flops - f.flops, bytes: t.bytes - f.bytes, calls: t.calls - f.calls };
    if (d.calls > 0) per[name] = d;
  }
  return { flops: to.flops - from.flops, bytes: to.bytes - from.bytes, calls: to.calls - from.calls, byKernel: per };
}
