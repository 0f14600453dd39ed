// Shape ops. reshape/view/flatten/squeeze/unsqueeze share storage (no copy); permute, expand,
// slice and cat materialise through the strided-copy kernel. Gradients route values back.

import { needsGrad, record, save } from '../autograd/record.js';
import { markView } from '../autograd/views.js';
import { assertShape, fmtShape, normDim, numel, stridesOf, broadcastStrides, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { guard } from '../memory.js';
import { assertDtype, assertPositiveInt, empty, launch, nbytes, sameDevice } from './util.js';
import { sumTo } from './elementwise.js';

/** Same data, new shape (one dim may be -1). Shares storage with x. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new RangeError(`reshape: only one dimension can be -1, got [${s.join(', ')}]`);
  if (neg === 1) {
    const known = s.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known === 0 || x.size % known !== 0)
      throw new RangeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into [${s.join(', ')}]`);
    s[s.indexOf(-1)] = x.size / known;
  }
  assertShape('reshape', s);
  if (numel(s) !== x.size)
    throw new RangeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(s)} (${numel(s)} elements)`);
  const out = new Tensor(x.storage.retain(), s, x.dtype);
  if (needsGrad(x)) {
    const xs = [...x.shape];
    record('reshape', [out], [x], ([g]) => [reshape(g!, xs)]);
    markView(x, out);
  }
  return out;
}

export const view = reshape;

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normDim('flatten', startDim, x.ndim);
  const e = normDim('flatten', endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const mid = numel(x.shape, s, e + 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

/** Removes dims of size 1 (all, or the given one if it has size 1). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const d = normDim('squeeze', dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return reshape(x, x.shape);
  return reshape(
    x,
    x.shape.filter((_, i) => i !== d),
  );
}

/** Inserts a dim of size 1 at `dim` (in [-ndim-1, ndim]). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  const s = [...x.shape];
  s.splice(d, 0, 1);
  return reshape(x, s);
}

/** Reorders dims: out.shape[i] = x.shape[dims[i]]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim)
    throw new RangeError(`permute: expected ${x.ndim} dims for shape ${fmtShape(x.shape)}, got [${dims.join(', ')}]`);
  const p = dims.map((d) => normDim('permute', d, x.ndim));
  if (new Set(p).size !== p.length) throw new RangeError(`permute: repeated dim in [${dims.join(', ')}]`);
  if (p.every((d, i) => d === i)) return reshape(x, x.shape);
  const xs = stridesOf(x.shape);
  const shape = p.map((d) => x.shape[d]!);
  const out = empty(x.backend, shape, x.dtype);
  launch(
    x.backend,
    'stridedCopy',
    0,
    nbytes(2 * x.size, x.dtype),
    x.handle,
    out.handle,
    shape,
    p.map((d) => xs[d]!),
    0,
    stridesOf(shape),
    0,
    x.dtype,
    false,
  );
  if (needsGrad(x)) {
    const inv = new Array<number>(p.length);
    p.forEach((d, i) => (inv[d] = i));
    record('permute', [out], [x], ([g]) => [permute(g!, inv)]);
  }
  return out;
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normDim('transpose', dim0, x.ndim);
  const b = normDim('transpose', dim1, x.ndim);
  const p = x.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(x, p);
}

/** Broadcasts to `shape` (-1 keeps a dim), materialised. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length < x.ndim) throw new RangeError(`expand: target ${fmtShape(shape)} has fewer dims than ${fmtShape(x.shape)}`);
  const lead = shape.length - x.ndim;
  const s = shape.map((d, i) => (d === -1 ? (i < lead ? -1 : x.shape[i - lead]!) : d));
  s.forEach((d, i) => {
    const src = i < lead ? 1 : x.shape[i - lead]!;
    if (d < 0 || (src !== 1 && src !== d)) {
      throw new RangeError(`expand: cannot expand ${fmtShape(x.shape)} to [${shape.join(', ')}] (dim ${i}: ${src} → ${d})`);
    }
  });
  if (sameShape(s, x.shape)) return reshape(x, s);
  const out = empty(x.backend, s, x.dtype, 'expand');
  launch(
    x.backend,
    'stridedCopy',
    0,
    nbytes(x.size + out.size, x.dtype),
    x.handle,
    out.handle,
    s,
    broadcastStrides(x.shape, s),
    0,
    stridesOf(s),
    0,
    x.dtype,
    false,
  );
  if (needsGrad(x)) {
    const xs = [...x.shape];
    record('expand', [out], [x], ([g]) => [sumTo(g!, xs)]);
  }
  return out;
}

/** Writes g into a zero tensor of `shape` at the strided positions (slice backward). */
function sliceBackward(g: Tensor, shape: number[], d: number, start: number, step: number): Tensor {
  const dx = empty(g.backend, shape, g.dtype);
  launch(g.backend, 'fill', 0, nbytes(dx.size, g.dtype), dx.handle, dx.size, 0, g.dtype);
  const st = stridesOf(shape);
  const dst = st.map((s, i) => (i === d ? s * step : s));
  launch(
    g.backend,
    'stridedCopy',
    0,
    nbytes(2 * g.size, g.dtype),
    g.handle,
    dx.handle,
    [...g.shape],
    stridesOf(g.shape),
    0,
    dst,
    start * st[d]!,
    g.dtype,
    false,
  );
  return dx;
}

/** Elements start, start+step, … < end along dim (negative start/end count from the end). */
export function slice(x: Tensor, dim: number, start: number, end?: number, step = 1): Tensor {
  const d = normDim('slice', dim, x.ndim);
  const n = x.shape[d]!;
  assertPositiveInt('slice', 'step', step);
  // start/end: integers (NaN gave "cannot allocate NaN elements", 0.5 sliced from 0.5)
  if (!Number.isInteger(start)) throw new RangeError(`slice: start must be an integer, got ${start}`);
  if (end !== undefined && !Number.isInteger(end)) throw new RangeError(`slice: end must be an integer (or omitted), got ${end}`);
  const norm = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = norm(start);
  const e = norm(end ?? n);
  const len = Math.max(0, Math.ceil((e - s) / step));
  const shape = [...x.shape];
  shape[d] = len;
  const st = stridesOf(x.shape);
  const src = st.map((v, i) => (i === d ? v * step : v));
  const out = empty(x.backend, shape, x.dtype);
  if (out.size)
    launch(
      x.backend,
      'stridedCopy',
      0,
      nbytes(2 * out.size, x.dtype),
      x.handle,
      out.handle,
      shape,
      src,
      s * st[d]!,
      stridesOf(shape),
      0,
      x.dtype,
      false,
    );
  if (needsGrad(x)) {
    const xs = [...x.shape];
    record('slice', [out], [x], ([g]) => [sliceBackward(g!, xs, d, s, step)]);
  }
  return out;
}

/** x[..., index, ...] along dim, removing that dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normDim('select', dim, x.ndim);
  const n = x.shape[d]!;
  if (!Number.isInteger(index) || index < -n || index >= n)
    throw new RangeError(`select: index ${index} is out of range for dim ${d} of size ${n}`);
  const i = index < 0 ? index + n : index;
  const s = slice(x, d, i, i + 1);
  const r = reshape(
    s,
    x.shape.filter((_, k) => k !== d),
  );
  s.dispose();
  return r;
}

/** Concatenates along dim; all other dims must match. */
export function cat(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new RangeError('cat: expected a non-empty list of tensors');
  const be = sameDevice('cat', ...xs);
  const first = xs[0]!;
  if (xs.some((x) => x.ndim === 0))
    throw new RangeError(
      `cat: zero-dimensional tensors cannot be concatenated (shapes ${xs.map((t) => fmtShape(t.shape)).join(', ')}); use stack`,
    );
  const d = normDim('cat', dim, first.ndim);
  for (const x of xs) {
    if (x.ndim !== first.ndim || x.shape.some((v, i) => i !== d && v !== first.shape[i])) {
      throw new RangeError(`cat: shapes ${xs.map((t) => fmtShape(t.shape)).join(', ')} do not match except in dim ${d}`);
    }
    if (x.dtype !== first.dtype) throw new TypeError(`cat: dtypes differ (${first.dtype} vs ${x.dtype})`);
  }
  const shape = [...first.shape];
  shape[d] = xs.reduce((a, x) => a + x.shape[d]!, 0);
  const out = empty(be, shape, first.dtype, 'cat');
  const ost = stridesOf(shape);
  let off = 0;
  for (const x of xs) {
    if (x.size)
      launch(
        be,
        'stridedCopy',
        0,
        nbytes(2 * x.size, x.dtype),
        x.handle,
        out.handle,
        [...x.shape],
        stridesOf(x.shape),
        0,
        ost,
        off * ost[d]!,
        x.dtype,
        false,
      );
    off += x.shape[d]!;
  }
  if (needsGrad(...xs)) {
    const sizes = xs.map((x) => x.shape[d]!);
    record('cat', [out], [...xs], ([g]) => {
      let o = 0;
      return sizes.map((n, i) => {
        const r = xs[i]!.requiresGrad ? slice(g!, d, o, o + n) : null;
        o += n;
        return r;
      });
    });
  }
  return out;
}

/** Stacks equal-shaped tensors along a new dim. */
export function stack(xs: readonly Tensor[], dim = 0): Tensor {
  if (xs.length === 0) throw new RangeError('stack: expected a non-empty list of tensors');
  const d = normDim('stack', dim, xs[0]!.ndim + 1);
  sameDevice('stack', ...xs);
  for (const x of xs) {
    if (!sameShape(x.shape, xs[0]!.shape))
      throw new RangeError(`stack: all tensors must have the same shape, got ${xs.map((t) => fmtShape(t.shape)).join(', ')}`);
    if (x.dtype !== xs[0]!.dtype) throw new TypeError(`stack: dtypes differ (${xs[0]!.dtype} vs ${x.dtype})`);
  }
  const us = xs.map((x) => unsqueeze(x, d));
  const out = cat(us, d);
  for (const u of us) u.dispose();
  return out;
}

/** Splits into pieces of `size` (the last may be smaller) or of the given sizes. */
export function split(x: Tensor, size: number | number[], dim = 0): Tensor[] {
  const d = normDim('split', dim, x.ndim);
  const n = x.shape[d]!;
  let sizes: number[];
  if (Array.isArray(size)) {
    sizes = size;
    if (sizes.some((v) => !Number.isInteger(v) || v < 0))
      throw new RangeError(`split: sizes must be non-negative integers, got [${sizes.join(', ')}]`);
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new RangeError(`split: sizes [${sizes.join(', ')}] do not sum to ${n}`);
  } else {
    assertPositiveInt('split', 'size', size);
    sizes = [];
    for (let o = 0; o < n; o += size) sizes.push(Math.min(size, n - o));
  }
  let o = 0;
  return sizes.map((s) => {
    const r = slice(x, d, o, o + s);
    o += s;
    return r;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normDim('chunk', dim, x.ndim);
  assertPositiveInt('chunk', 'chunks', chunks);
  return split(x, Math.max(1, Math.ceil(x.shape[d]! / chunks)), d);
}

/** Rows of x along dim picked by a 1-D int32 index (torch.index_select). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  assertDtype('indexSelect', index, 'int32', 'index');
  if (index.ndim > 1) throw new RangeError(`indexSelect: index must be 1-D, got ${fmtShape(index.shape)}`);
  const be = sameDevice('indexSelect', x, index);
  const d = normDim('indexSelect', dim, x.ndim);
  const outer = numel(x.shape, 0, d);
  const inner = numel(x.shape, d + 1);
  const k = index.size;
  const shape = [...x.shape];
  shape[d] = k;
  // the kernel may reject an index: guard frees the output then
  const out = guard(() => {
    const o = empty(be, shape, x.dtype, 'indexSelect');
    launch(be, 'indexSelect', 0, nbytes(2 * o.size, x.dtype), x.handle, index.handle, o.handle, outer, x.shape[d]!, inner, k, x.dtype);
    return o;
  });
  if (needsGrad(x)) {
    const [si] = save(index);
    const xs = [...x.shape];
    record(
      'indexSelect',
      [out],
      [x],
      ([g]) => {
        const dx = empty(g!.backend, xs, g!.dtype);
        launch(
          g!.backend,
          'indexSelectBackward',
          g!.size,
          nbytes(g!.size + dx.size, g!.dtype),
          g!.handle,
          si!.handle,
          dx.handle,
          outer,
          xs[d]!,
          inner,
          k,
          g!.dtype,
        );
        return [dx];
      },
      [si!],
    );
  }
  return out;
}

/** dx of `shape` = 0, then scatter-add g at idx along d (gather's backward). */
export function gatherBackwardRaw(g: Tensor, idx: Tensor, shape: number[], d: number): Tensor {
  const outer = numel(shape, 0, d);
  const inner = numel(shape, d + 1);
  const dx = empty(g.backend, shape, g.dtype);
  launch(
    g.backend,
    'gatherBackward',
    g.size,
    nbytes(g.size + dx.size, g.dtype),
    g.handle,
    idx.handle,
    dx.handle,
    outer,
    shape[d]!,
    inner,
    idx.shape[d]!,
    g.dtype,
  );
  return dx;
}

/** out[..., j, ...] = x[..., index[..., j, ...], ...] along dim (torch.gather); index matches x except along dim. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  assertDtype('gather', index, 'int32', 'index');
  const be = sameDevice('gather', x, index);
  const d = normDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((v, i) => i !== d && v !== x.shape[i])) {
    throw new RangeError(`gather: index ${fmtShape(index.shape)} must match input ${fmtShape(x.shape)} in every dim but ${d}`);
  }
  const outer = numel(x.shape, 0, d);
  const inner = numel(x.shape, d + 1);
  const out = guard(() => {
    const o = empty(be, index.shape, x.dtype);
    launch(
      be,
      'gather',
      0,
      nbytes(2 * o.size, x.dtype),
      x.handle,
      index.handle,
      o.handle,
      outer,
      x.shape[d]!,
      inner,
      index.shape[d]!,
      x.dtype,
    );
    return o;
  });
  if (needsGrad(x)) {
    const [si] = save(index);
    const xs = [...x.shape];
    record('gather', [out], [x], ([g]) => [gatherBackwardRaw(g!, si!, xs, d)], [si!]);
  }
  return out;
}
