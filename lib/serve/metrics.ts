// Prometheus metrics of the model server (prom-client), in a registry of the server's own so that
// two servers in one process (tests) never share counters. Names follow Prometheus conventions:
// *_total counters, *_seconds and *_joules units; process_* and nodejs_* defaults included.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'status'>;
  readonly latency: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly batchSeconds: Histogram<'model'>;
  readonly queueDepth: Gauge<'model'>;
  readonly inflight: Gauge<'model'>;
  readonly requestJoules: Histogram<'model' | 'kind'>;
  readonly joules: Counter<'model' | 'kind'>;
  readonly instances: Counter<'model'>;

  constructor(maxBatch: number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'wattgrad_requests_total',
      help: 'HTTP requests by model and status code',
      labelNames: ['model', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'wattgrad_request_duration_seconds',
      help: 'predict latency from request received to response sent',
      labelNames: ['model'],
      registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    const sizes: number[] = [];
    for (let b = 1; b < maxBatch; b *= 2) sizes.push(b);
    sizes.push(maxBatch);
    this.batchSize = new Histogram({
      name: 'wattgrad_batch_size',
      help: 'rows per executed batch',
      labelNames: ['model'],
      registers,
      buckets: sizes,
    });
    this.batchSeconds = new Histogram({
      name: 'wattgrad_batch_duration_seconds',
      help: 'model time per executed batch',
      labelNames: ['model'],
      registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    });
    this.queueDepth = new Gauge({ name: 'wattgrad_queue_depth', help: 'rows waiting to be batched', labelNames: ['model'], registers });
    this.inflight = new Gauge({
      name: 'wattgrad_inflight_requests',
      help: 'predict requests received and not yet answered',
      labelNames: ['model'],
      registers,
    });
    this.requestJoules = new Histogram({
      name: 'wattgrad_request_joules',
      help: "each predict request's share of its batch's energy (kind: measured or estimated)",
      labelNames: ['model', 'kind'],
      registers,
      buckets: [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10],
    });
    this.joules = new Counter({
      name: 'wattgrad_joules_total',
      help: 'energy of all executed batches (kind: measured or estimated)',
      labelNames: ['model', 'kind'],
      registers,
    });
    this.instances = new Counter({ name: 'wattgrad_instances_total', help: 'instances predicted', labelNames: ['model'], registers });
  }
}
