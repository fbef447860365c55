import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Paths reported as themselves; anything else is `other`, so random URLs cannot grow the label set. */
export const KNOWN_PATHS = ['/invocations', '/ping', '/health', '/version', '/metadata', '/metrics'] as const;

/**
 * The server's Prometheus metrics, in a registry of its own (not prom-client's global one), so that
 * several servers in one process, as in tests, count separately.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by path, method and status code.',
    labelNames: ['path', 'method', 'status'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by path.',
    labelNames: ['path'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly images = new Counter({
    name: 'images_predicted_total',
    help: 'Images the model has scored.',
    registers: [this.registry],
  });
  private readonly batchSizes = new Histogram({
    name: 'model_batch_size',
    help: 'Images per model call; more than one means concurrent requests were batched.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  private readonly ready = new Gauge({
    name: 'model_ready',
    help: '1 once the model is loaded and requests are served.',
    registers: [this.registry],
  });

  observeRequest(rawPath: string, method: string, status: number, seconds: number): void {
    const path = (KNOWN_PATHS as readonly string[]).includes(rawPath) ? rawPath : 'other';
    this.requests.inc({ path, method, status: String(status) });
    this.latency.observe({ path }, seconds);
  }

  observeBatch(size: number): void {
    this.batchSizes.observe(size);
    this.images.inc(size);
  }

  setReady(ready: boolean): void {
    this.ready.set(ready ? 1 : 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
