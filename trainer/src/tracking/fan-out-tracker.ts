import type { DatasetInput, ParamValue, RunEnd, RunStart, Tracker } from './tracker';

/**
 * Sends every event to each tracker in turn: the run folder first, then any server. The run is
 * started the other way round, so that a server which refuses it (a rejected login, no
 * permission) stops it before a run folder exists, rather than leaving one marked RUNNING.
 */
export class FanOutTracker implements Tracker {
  constructor(private readonly trackers: readonly Tracker[]) {}

  private async each(call: (tracker: Tracker) => Promise<void>, trackers = this.trackers): Promise<void> {
    for (const tracker of trackers) await call(tracker);
  }

  startRun(start: RunStart) { return this.each((t) => t.startRun(start), [...this.trackers].reverse()); }
  logParams(params: Readonly<Record<string, ParamValue>>) { return this.each((t) => t.logParams(params)); }
  setTags(tags: Readonly<Record<string, string>>) { return this.each((t) => t.setTags(tags)); }
  logMetrics(metrics: Readonly<Record<string, number>>, step: number) { return this.each((t) => t.logMetrics(metrics, step)); }
  logDataset(input: DatasetInput) { return this.each((t) => t.logDataset(input)); }
  endRun(end: RunEnd) { return this.each((t) => t.endRun(end)); }
}
