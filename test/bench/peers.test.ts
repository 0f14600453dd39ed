// The PyTorch peer script (bench/peers/torch_ops.py) off the GPU: its case ids against the ids the
// Node bench generates (the report matches peers to cases on them), and its --device cpu smoke mode
// on one tiny family, checking the JSON that bench/run.ts reads. Skipped where no python with torch
// is found (CI installs no torch); WATTGRAD_TORCH_PYTHON picks the interpreter (default
// /usr/bin/python3: Debian's python3-torch).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { E2E_MODELS, NO_TORCH_PEER, OP_FAMILIES } from '../../bench/run.js';
import { e2eId } from '../../bench/e2e/train.js';
import { e2eBatch } from '../../bench/e2e/models.js';
import type { BenchContext } from '../../bench/lib/types.js';
import { goalCaseIds } from '../../bench/lib/cpu-goals.js';

const PY = process.env.WATTGRAD_TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '../../bench/peers/torch_ops.py');
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;

function py(args: string[], timeout = 60_000): string {
  const r = spawnSync(PY, [SCRIPT, ...args], { encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`torch_ops.py ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stderr}`);
  return r.stdout;
}

/** The ids the Node bench generates for these ops (distinct: matmul has float32 and bfloat16 cases under one id). */
function nodeIds(backend: 'js' | 'cuda', quick: boolean, ops: string[]): string[] {
  const ctx: BenchContext = {
    backend,
    device: backend === 'js' ? 'cpu' : 'cuda:0',
    quick,
    memoryBytes: null,
    cacheBytes: 32 << 20,
    budgetMs: 1,
    log: () => {},
  };
  const ids = ops.flatMap((op) => (OP_FAMILIES[op] ? OP_FAMILIES[op](ctx).map((c) => c.id) : []));
  for (const m of E2E_MODELS.filter((x) => ops.includes(x))) ids.push(e2eId(m, e2eBatch(ctx)));
  return [...new Set(ids)].sort();
}

// every family with a torch counterpart (int8 is timed against our own fp32 baseline, no peer)
const ALL = [...Object.keys(OP_FAMILIES).filter((f) => !NO_TORCH_PEER.has(f)), ...E2E_MODELS];

describe.skipIf(!hasTorch)('torch peer script (python3 + torch, no GPU)', () => {
  it.each([
    ['cuda', true],
    ['cuda', false],
    ['js', true],
    ['js', false],
  ] as const)('lists the Node bench ids for backend %s (quick %s)', (backend, quick) => {
    const out = py(['--list-ids', '--device', backend === 'js' ? 'cpu' : 'cuda', ...(quick ? ['--quick'] : []), '--ops', ALL.join(',')]);
    const ids = out.split('\n').filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(nodeIds(backend, quick, ALL));
  });

  it('--device cpu --quick writes the JSON bench/run.ts reads (softmax + cross-entropy)', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wg-torch-peer-')), 'torch.json');
    py(['--device', 'cpu', '--quick', '--ops', 'softmax,xent', '--json', file]);
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { cases: Record<string, unknown>[] };
    expect(typeof j.device).toBe('string');
    expect(typeof j.torch).toBe('string');
    expect(j.torch_device).toBe('cpu');
    expect(j.cuda).toBeNull();
    expect(j.copy_bytes_per_s).toBeGreaterThan(0);
    expect(j.errors).toBeUndefined();
    for (const c of j.cases) {
      expect(typeof c.id).toBe('string');
      expect(typeof c.peer).toBe('string');
      expect(['float32', 'tf32', 'bfloat16']).toContain(c.dtype);
      expect(c.median_ms).toBeGreaterThan(0);
      if ('note' in c) expect(typeof c.note).toBe('string');
    }
    expect(j.cases.map((c) => c.id).sort()).toEqual(nodeIds('js', true, ['softmax', 'xent']));
  }, 60_000);

  it('--goals --list-ids prints the ids of the CPU goal table (bench/lib/cpu-goals.ts)', () => {
    const ids = py(['--list-ids', '--device', 'cpu', '--goals']).split('\n').filter(Boolean);
    const ctx: BenchContext = {
      backend: 'js',
      device: 'cpu',
      quick: false,
      memoryBytes: null,
      cacheBytes: 32 << 20,
      budgetMs: 1,
      log: () => {},
    };
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(goalCaseIds(ctx).sort());
  });

  it('--device cpu --threads 1 sets torch and OpenBLAS to one thread and names the BLAS', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wg-torch-peer-')), 'torch.json');
    py(['--device', 'cpu', '--quick', '--threads', '1', '--ops', 'softmax', '--json', file]);
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { threads: number; blas: Record<string, unknown>; cases: unknown[] };
    expect(j.threads).toBe(1);
    expect(j.blas).toHaveProperty('libblas');
    expect(j.blas).toHaveProperty('torch_blas_info');
    // Debian's torch calls libblas.so.3: with libopenblas0-pthread installed it is OpenBLAS, whose
    // own pool must follow --threads (it ignores torch.set_num_threads)
    if (j.blas['openblas_config'] !== undefined) {
      expect(j.blas['openblas_threads']).toBe(1);
      expect(typeof j.blas['openblas_core']).toBe('string');
    }
    expect(j.cases.length).toBeGreaterThan(0);
  }, 60_000);
});
