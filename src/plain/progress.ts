/**
 * Progress on stderr: a bar per epoch when stderr is a terminal, otherwise
 * nothing until the epoch's summary line (logs stay readable in files).
 */
import cliProgress from 'cli-progress';

export interface StepProgress {
  start(total: number, label: string): void;
  update(done: number, values: { loss: number; rate: number }): void;
  stop(): void;
}

export function stepProgress(enabled: boolean): StepProgress {
  if (!enabled || !process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: '{label} [{bar}] {value}/{total} steps | loss {loss} | {rate} img/s | eta {eta_formatted}',
    stream: process.stderr,
    clearOnComplete: true,
    hideCursor: true,
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  return {
    start: (total, label) => bar.start(total, 0, { label, loss: '-', rate: '-' }),
    update: (done, v) => bar.update(done, { loss: v.loss.toFixed(4), rate: v.rate.toFixed(0) }),
    stop: () => bar.stop(),
  };
}
