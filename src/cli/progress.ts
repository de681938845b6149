import { SingleBar } from 'cli-progress';
import type { AssemblyProgress } from '../assembly/assemble.js';
import { humanBytes } from '../util/format.js';
import { writeLine } from './output.js';

export { humanBytes };

/**
 * Progress on stderr: a live bar on a terminal, one plain line per phase
 * otherwise (CI logs are not terminals).
 */
export class ProgressReporter {
  private bar: SingleBar | undefined;
  private phase: string | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly interactive = Boolean(stream.isTTY),
  ) {}

  info(message: string): void {
    this.stop();
    writeLine(this.stream, message);
  }

  update(p: AssemblyProgress): void {
    if (p.phase !== this.phase) {
      this.stop();
      this.phase = p.phase;
      if (this.interactive) {
        this.bar = new SingleBar({
          stream: this.stream,
          format: `${p.phase.padEnd(11)} [{bar}] {value}/{total} {size}`,
          hideCursor: true,
          clearOnComplete: false,
        });
        this.bar.start(p.total, 0, { size: '' });
      } else {
        writeLine(this.stream, `${p.phase}: ${p.total}`);
      }
    }
    this.bar?.update(p.done, { size: p.bytes ? humanBytes(p.bytes) : '' });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.phase = undefined;
  }
}
