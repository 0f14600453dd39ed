// Mismatched models: rank 1's hidden layer is wider (argv[2] = 'shape') or named differently
// ('name'); every rank must fail at construction with the first difference named.
import { nn, zeros } from '../../../lib/index.js';
import * as dist from '../../../lib/distributed/index.js';
import { report } from './util.js';

const how = process.argv[2] ?? 'shape';
const g = dist.initProcessGroup({ timeoutMs: 20_000 });
if (how === 'collective') {
  // WATTGRAD_DIST_DEBUG=1: rank 1 reduces a tensor of another shape and dtype
  const t = g.rank === 1 ? zeros([4], { dtype: 'float64' }) : zeros([3]);
  let err = 'no error';
  try {
    dist.allReduce(t);
  } catch (e) {
    err = (e as Error).message;
  }
  report(g.rank, { error: err });
  process.exit(0);
}
const hidden = how === 'shape' && g.rank === 1 ? 9 : 8;
const m = new nn.Sequential(new nn.Linear(4, hidden), new nn.ReLU(), new nn.Linear(hidden, 2));
if (how === 'name' && g.rank === 1) m.registerBuffer('extra', m.parameters()[0]!.detach().clone());
let error = 'no error';
try {
  new dist.DistributedDataParallel(m);
} catch (e) {
  error = (e as Error).message;
}
report(g.rank, { error });
