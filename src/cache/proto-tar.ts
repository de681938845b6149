/**
 * The tar stream of a proto cache entry (docs/build-world.md, "Proto
 * cache"), written by us rather than by node-tar's Pack: Pack's read-ahead
 * defers a hard-linked file until the entry it links to is written, and
 * when those deferred jobs fill its job table while the head of its queue
 * is still waiting, it never ends (node-tar issue #460, present from 7.5.14
 * on). Nothing is then left for the event loop to do and the build ended
 * with Node's status 13 and no message. Here each member is written in
 * turn, so there is no queue to jam.
 *
 * What it writes is what node-tar's portable mode wrote: members in byte
 * order of their paths, parents before children; a ustar header each (a
 * pax header first when a path or link text does not fit); no owners;
 * modes without group and other write; files keep their mtime (make
 * compares them after a restore), directories have none; a file met again
 * through another hard link is a Link member naming its first path;
 * symlinks keep their text; sockets, FIFOs and devices are left out (a
 * proto area holds none; node-tar left them out too).
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Header, type HeaderData } from 'tar/header';
import { Pax } from 'tar/pax';
import { fileContent, portableMode } from '../archive/tgz.js';
import { compareBytes } from '../manifest/path.js';

/** Bytes read from a member at a time. */
const READ_SIZE = 1 << 20;
const TAR_BLOCK = 512;

/** The header (and pax header before it when needed) of one member. */
function* headerBlocks(data: HeaderData): Generator<Buffer> {
  const header = new Header(data);
  if (header.encode()) {
    yield new Pax({
      path: data.path,
      linkpath: data.linkpath,
      mtime: data.mtime,
      size: data.size,
    }).encode();
  }
  yield header.block!;
}

interface Packing {
  cwd: string;
  /** `dev:ino` of each file with more than one link -> the path it was first packed under. */
  links: Map<string, string>;
  buffer: Buffer;
}

/** One member and, for a directory, everything below it. */
async function* member(p: Packing, path: string): AsyncGenerator<Buffer> {
  const abs = join(p.cwd, path);
  const st = await lstat(abs);
  const mode = portableMode(st.mode, st.isDirectory());
  if (st.isDirectory()) {
    yield* headerBlocks({ path: `${path}/`, mode, size: 0, type: 'Directory' });
    const names = (await readdir(abs)).sort(compareBytes);
    for (const name of names) yield* member(p, `${path}/${name}`);
  } else if (st.isSymbolicLink()) {
    const linkpath = await readlink(abs);
    yield* headerBlocks({ path, mode, size: 0, mtime: st.mtime, type: 'SymbolicLink', linkpath });
  } else if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? p.links.get(key) : undefined;
    if (first !== undefined) {
      yield* headerBlocks({ path, mode, size: 0, mtime: st.mtime, type: 'Link', linkpath: first });
      return;
    }
    if (st.nlink > 1) p.links.set(key, path);
    yield* headerBlocks({ path, mode, size: st.size, mtime: st.mtime, type: 'File' });
    yield* fileContent(abs, st.size, p.buffer);
  }
}

/**
 * The tar stream of `paths` (relative to `cwd`, each a file or a tree),
 * ended by two zero blocks. Each piece is valid until the next is asked
 * for: the consumer (parallelGzip) copies it first.
 */
export async function* protoTar(cwd: string, paths: readonly string[]): AsyncGenerator<Buffer> {
  const p: Packing = { cwd, links: new Map(), buffer: Buffer.allocUnsafe(READ_SIZE) };
  for (const path of paths) yield* member(p, path);
  yield Buffer.alloc(2 * TAR_BLOCK);
}
