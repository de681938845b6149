import { compareBytes } from '../../manifest/path.js';
import { isSymlinkNode, type ImageNode } from '../../image/model.js';
import { UserError } from '../../util/errors.js';
import {
  BSIZE,
  DIRBLKSIZ,
  direntSize,
  FSIZE,
  MAX_FILE_SIZE,
  MAXNAMLEN,
  MAXPATHLEN,
  NDADDR,
  NINDIR,
  ROOTINO,
  writeDirent,
  type InodeAttributes,
} from './layout.js';

/** One inode of the image, numbered in the byte order of its first path. */
export interface UfsInode extends InodeAttributes {
  ino: number;
  kind: 'd' | 'f' | 's';
  /** The first path in byte order ('' for the root). */
  path: string;
  /** Files: the bytes their content takes on disk, when the image model knows it (ImageNode.diskBytes). */
  diskBytes?: number;
  /** Symlinks: the link text. */
  target?: Buffer;
  /** Directories: the entries other than . and .., in byte order. */
  entries?: DirectoryEntry[];
  parent: number;
}

/** A name in a directory and the inode it stands for. */
export interface DirectoryEntry {
  name: string;
  ino: number;
}

/**
 * The inode table of an image: root first (inode 2), then every directory,
 * file and symlink in the byte order of its first path; a hard link shares
 * the inode of the file it ends at. Throws UserError, naming the path, for
 * what illumos UFS cannot hold, before anything is written.
 */
export function buildInodeTable(
  nodes: Iterable<ImageNode>,
  root: { mode: number; uid: number; gid: number },
): UfsInode[] {
  const sorted = [...nodes].sort((a, b) => compareBytes(a.path, b.path));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path)
      throw new UserError(`${sorted[i].path}: listed twice in the image`);
  }
  // Only what is looked up again is kept by path: the files hard links end
  // at, and the directories (as parents). The table is made for tens of
  // thousands of entries; a map of every path would be most of its memory.
  const linkedFiles = new Set<string>();
  for (const node of sorted) {
    if (node.type === 'h' && node.linkedFile !== undefined) linkedFiles.add(node.linkedFile);
  }
  const linkedNodes = new Map<string, ImageNode>();
  for (const node of sorted) if (linkedFiles.has(node.path)) linkedNodes.set(node.path, node);
  const rootInode: UfsInode = {
    ino: ROOTINO,
    kind: 'd',
    path: '',
    mode: root.mode,
    uid: root.uid,
    gid: root.gid,
    nlink: 2,
    size: 0,
    entries: [],
    parent: ROOTINO,
  };
  const table: UfsInode[] = [rootInode];
  const directoryOfPath = new Map<string, UfsInode>([['', rootInode]]);
  const inodeOfLinkedFile = new Map<string, UfsInode>();
  for (const node of sorted) {
    const slash = node.path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : node.path.slice(0, slash);
    const text = slash < 0 ? node.path : node.path.slice(slash + 1);
    if (text === '' || text === '.' || text === '..')
      throw new UserError(`${node.path}: not a valid path in a UFS image`);
    const nameBytes = Buffer.byteLength(text);
    if (nameBytes > MAXNAMLEN) {
      throw new UserError(
        `${node.path}: the name is ${nameBytes} bytes long; UFS names are at most ${MAXNAMLEN} bytes`,
      );
    }
    const parent = directoryOfPath.get(parentPath);
    if (!parent)
      throw new UserError(`${node.path}: its parent ${parentPath} is not a directory in the image`);

    let inode: UfsInode | undefined;
    if (isSymlinkNode(node)) {
      const text = node.type === 's' ? node.target : node.linkText;
      const target = Buffer.from(text ?? '');
      if (target.length >= MAXPATHLEN) {
        throw new UserError(
          `${node.path}: the symlink target is ${target.length} bytes long; ` +
            `illumos allows at most ${MAXPATHLEN - 1} (MAXPATHLEN)`,
        );
      }
      inode = newInode(table, node, 's', target.length, parent.ino);
      inode.mode = 0o777;
      inode.uid = 0;
      inode.gid = 0;
      inode.target = target;
    } else if (node.type === 'd') {
      inode = newInode(table, node, 'd', 0, parent.ino);
      inode.entries = [];
      inode.nlink = 2;
      parent.nlink++;
      directoryOfPath.set(node.path, inode);
    } else {
      inode = fileInode(table, node, parent.ino, linkedNodes, linkedFiles, inodeOfLinkedFile);
    }
    parent.entries!.push({ name: text, ino: inode.ino });
  }
  for (const inode of table) {
    if (inode.kind !== 'd') continue;
    inode.entries!.sort((a, b) => compareBytes(a.name, b.name));
    inode.size = directorySize(inode.entries!);
  }
  return table;
}

/** A file's inode, or for a hard link the inode of the file it ends at (its link count raised). */
function fileInode(
  table: UfsInode[],
  node: ImageNode,
  parentIno: number,
  linkedNodes: ReadonlyMap<string, ImageNode>,
  linkedFiles: ReadonlySet<string>,
  inodeOfLinkedFile: Map<string, UfsInode>,
): UfsInode {
  const fileNode =
    node.type === 'h' && node.linkedFile !== undefined
      ? linkedNodes.get(node.linkedFile)
      : undefined;
  const file = fileNode?.type === 'f' ? fileNode : node;
  const shared = inodeOfLinkedFile.get(file.path);
  if (shared) {
    shared.nlink++;
    return shared;
  }
  if (file.size === undefined) {
    throw new UserError(
      node.type === 'h'
        ? `${node.path}: the hard link ends at ${node.linkedFile ?? node.target}, which is not a file in the image`
        : `${node.path}: no size known for this file`,
    );
  }
  const size = file.size;
  if (size > MAX_FILE_SIZE) {
    throw new UserError(
      `${node.path}: ${size} bytes is more than illumos UFS holds in one file (${MAX_FILE_SIZE})`,
    );
  }
  const inode = newInode(table, file, 'f', size, parentIno);
  inode.path = node.path;
  if (file.diskBytes !== undefined) inode.diskBytes = file.diskBytes;
  if (linkedFiles.has(file.path)) inodeOfLinkedFile.set(file.path, inode);
  return inode;
}

function newInode(
  table: UfsInode[],
  node: ImageNode,
  kind: UfsInode['kind'],
  size: number,
  parent: number,
): UfsInode {
  const inode: UfsInode = {
    ino: ROOTINO + table.length,
    kind,
    path: node.path,
    mode: node.mode & 0o7777,
    uid: node.uid,
    gid: node.gid,
    nlink: 1,
    size,
    parent,
  };
  table.push(inode);
  return inode;
}

/** Packs . and .. and the entries into DIRBLKSIZ chunks; calls `put` per entry. */
function packDirectory(
  entries: readonly DirectoryEntry[],
  self: number,
  parent: number,
  put?: (off: number, ino: number, reclen: number, name: string) => void,
): number {
  const all = [{ name: '.', ino: self }, { name: '..', ino: parent }, ...entries];
  let chunk = 0; // start of the current chunk
  let used = 0; // bytes used in it
  let last: { off: number; ino: number; name: string; size: number } | undefined;
  const flushLast = (end: number) => {
    if (last && put) put(last.off, last.ino, end - last.off, last.name);
  };
  for (const entry of all) {
    const size = direntSize(Buffer.byteLength(entry.name));
    if (used + size > DIRBLKSIZ) {
      flushLast(chunk + DIRBLKSIZ);
      last = undefined;
      chunk += DIRBLKSIZ;
      used = 0;
    }
    if (last && put) put(last.off, last.ino, last.size, last.name);
    last = { off: chunk + used, ino: entry.ino, name: entry.name, size };
    used += size;
  }
  flushLast(chunk + DIRBLKSIZ);
  return chunk + DIRBLKSIZ;
}

function directorySize(entries: readonly DirectoryEntry[]): number {
  return packDirectory(entries, 0, 0);
}

/** The content of a directory inode. */
export function directoryContent(inode: UfsInode): Buffer {
  const buf = Buffer.alloc(inode.size);
  packDirectory(inode.entries!, inode.ino, inode.parent, (off, ino, reclen, name) =>
    writeDirent(buf, off, ino, reclen, name),
  );
  return buf;
}

/** Blocks of one inode's content: full blocks, tail fragments, indirect blocks. */
export interface ContentShape {
  blocks: number;
  tailFrags: number;
  indirect: number;
}

const SINGLE_END = NDADDR + NINDIR;
const DOUBLE_END = SINGLE_END + NINDIR * NINDIR;

/** Logical blocks of `size` bytes. */
export function blockCount(size: number): number {
  return Math.ceil(size / BSIZE);
}

/** Fragments of the last block, when it is a fragment run (small files only). */
export function tailFragments(size: number): number {
  const nblk = blockCount(size);
  const rem = size % BSIZE;
  return nblk <= NDADDR && rem !== 0 ? Math.ceil(rem / FSIZE) : 0;
}

/**
 * The indirect-block keys a logical block needs: one per level, each naming
 * one indirect block (the same key for the same block).
 */
export function indirectPath(lbn: number): string[] {
  if (lbn < NDADDR) return [];
  if (lbn < SINGLE_END) return ['S'];
  if (lbn < DOUBLE_END) {
    const x = lbn - SINGLE_END;
    return ['D', `D${Math.floor(x / NINDIR)}`];
  }
  const x = lbn - DOUBLE_END;
  const a = Math.floor(x / (NINDIR * NINDIR));
  const b = Math.floor(x / NINDIR);
  return ['T', `T${a}`, `T${a}.${b}`];
}

/** The shape of content with every block allocated. */
export function denseShape(size: number): ContentShape {
  const nblk = blockCount(size);
  const tailFrags = tailFragments(size);
  let indirect = 0;
  if (nblk > NDADDR) indirect += 1;
  if (nblk > SINGLE_END)
    indirect += 1 + Math.ceil(Math.min(nblk - SINGLE_END, NINDIR ** 2) / NINDIR);
  if (nblk > DOUBLE_END) {
    const n = nblk - DOUBLE_END;
    indirect += 1 + Math.ceil(n / NINDIR ** 2) + Math.ceil(n / NINDIR);
  }
  return { blocks: tailFrags ? nblk - 1 : nblk, tailFrags, indirect };
}

/** The shape of content whose allocated logical blocks are `lbns` (ascending). */
export function sparseShape(size: number, lbns: Iterable<number>): ContentShape {
  const tailFrags = tailFragments(size);
  const keys = new Set<string>();
  let count = 0;
  for (const lbn of lbns) {
    count++;
    for (const key of indirectPath(lbn)) keys.add(key);
  }
  return { blocks: tailFrags ? count - 1 : count, tailFrags, indirect: keys.size };
}
