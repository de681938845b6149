import { closeSync, openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { ioError } from './errors.js';

/**
 * A new file (created exclusively, mode 0644) as a Writable whose every
 * write is done, synchronously, before write() returns: what it was given
 * is free again at once, and no write waits behind work on the thread pool
 * (the gzip threads keep it busy). Writes go to the page cache.
 */
export function syncFileStream(path: string): Writable {
  let fd = openSync(path, 'wx', 0o644);
  const close = () => {
    const open = fd;
    fd = -1;
    if (open >= 0) closeSync(open);
  };
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        for (let at = 0; at < chunk.length;) {
          const n = writeSync(fd, chunk, at, chunk.length - at);
          if (n === 0) throw new Error('short write');
          at += n;
        }
        done();
      } catch (err) {
        done(ioError(err, 'write', path));
      }
    },
    final(done) {
      try {
        close();
        done();
      } catch (err) {
        done(ioError(err, 'write', path));
      }
    },
    destroy(err, done) {
      try {
        close();
      } catch {
        // The error that destroyed the stream is the one to report.
      }
      done(err);
    },
  });
}
